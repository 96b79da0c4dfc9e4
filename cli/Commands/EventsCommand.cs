using System.CommandLine;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Feedback;
using Fuzz.Engine.Fuzzing;

namespace Fuzz.Cli.Commands;

/// <summary>fuzz events: which model events a corpus reaches. Exit 0, or 2 for unusable arguments.</summary>
public static class EventsCommand
{
    public static Command Build()
    {
        var corpus = new Option<string[]>("--corpus") { Description = "corpus directory (repeatable)", AllowMultipleArgumentsPerToken = true, Required = true };
        var target = new Option<string>("--target") { Description = "fuzz target", DefaultValueFactory = _ => Targets.Factory.DefaultTarget };
        var bugs = BugOption.Create();
        var cmd = new Command("events", "Replay a corpus and count, per model event, the entries that raise it (what a run reached)") { corpus, target, bugs };
        cmd.SetAction(r => Run(r.GetValue(corpus) ?? [], r.GetValue(target)!, r.GetValue(bugs) ?? [], Console.Out, Console.Error));
        return cmd;
    }

    public static int Run(string[] dirs, string targetName, string[] bugIds, TextWriter stdout, TextWriter stderr)
    {
        if (Targets.Factory.Describe(targetName) is not { } description)
        {
            stderr.WriteLine($"fuzz events: unknown target '{targetName}' (see `fuzz targets`)");
            return 2;
        }
        if (!BugOption.TryParse(description, bugIds, stderr, out var bugList)) return 2;
        foreach (var d in dirs)
            if (!Directory.Exists(d)) { stderr.WriteLine($"fuzz events: no directory '{d}'"); return 2; }
        var model = Targets.Factory.Create(targetName, bugList);
        var load = CorpusStore.Load(dirs, model.Codec, model.Vocabulary);
        foreach (var bad in load.Bad) stderr.WriteLine($"fuzz events: skipped {bad.Path}: {bad.Reason}");
        var census = new EventCensus();
        model.Observer = census;
        int failing = 0;
        foreach (var entry in load.Good)
        {
            census.BeginExecution();
            if (model.ExecuteSafely(model.Codec.Decode(entry.Data)).Failed) failing++;
        }
        stdout.WriteLine($"{load.Good.Count} entries replayed ({failing} fail, {load.Bad.Count} skipped)");
        stdout.WriteLine($"{"event",-34} {"entries",8} {"share",7}  {"largest argument",-34} one such entry");
        var tallies = census.Tallies.ToDictionary(t => t.Kind);
        foreach (var kind in description.Events)
        {
            tallies.TryGetValue(kind.Value, out var t);
            int n = t?.Executions ?? 0;
            string share = load.Good.Count == 0 ? "-" : $"{100.0 * n / load.Good.Count:F1}%";
            string max = kind.Argument.Length == 0 || t is null ? "" : $"{t.MaxArgument} ({kind.Argument})";
            string first = t is null ? "" : Path.GetFileName(load.Good[t.First].Path);
            stdout.WriteLine($"{kind.Name,-34} {n,8} {share,7}  {max,-34} {first}");
        }
        return 0;
    }
}
