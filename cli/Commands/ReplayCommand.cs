using System.CommandLine;
using System.Diagnostics;
using Fuzz.Cli.Farm;
using Fuzz.Coordinator.Replay;
using Fuzz.Engine.Transport;

namespace Fuzz.Cli.Commands;

/// <summary>fuzz replay: the nightly job. Exit 0 no regression, 1 regression, 2 usage error.</summary>
public static class ReplayCommand
{
    public static Command Build()
    {
        var corpus = new Option<string[]>("--corpus") { Description = "corpus directory (repeatable)", AllowMultipleArgumentsPerToken = true };
        var crashes = new Option<string[]>("--crashes") { Description = "crashes directory, one sub-directory per signature (repeatable)", AllowMultipleArgumentsPerToken = true };
        var broker = BrokerOption.Create(required: false);
        var farm = BrokerOption.Farm();
        var target = new Option<string>("--target") { Description = "fuzz target", DefaultValueFactory = _ => Targets.Factory.DefaultTarget };
        var bugs = BugOption.Create();
        var outDir = new Option<string>("--out") { Description = "where replay.json and replay.md go", DefaultValueFactory = _ => "replay-out" };
        var baseline = new Option<string?>("--baseline") { Description = "a previous replay.json to measure coverage drift against (default: <out>/replay.json if there is one)" };
        var chunk = new Option<int>("--chunk") { Description = "entries per task", DefaultValueFactory = _ => NightlyReplay.DefaultChunk };
        var timeout = new Option<double>("--timeout") { Description = "with --broker: seconds to wait for the workers before replaying what is left here", DefaultValueFactory = _ => 3600 };
        var cmd = new Command("replay", "Nightly replay: every corpus entry and known crash against the current model; newly failing entries, fixed crashes, coverage drift")
            { corpus, crashes, broker, farm, target, bugs, outDir, baseline, chunk, timeout };
        UsageErrors.SetAction(cmd, async (r, cancel) =>
        {
            var stderr = Console.Error;
            var factory = Targets.Factory;
            string t = r.GetValue(target)!;
            if (factory.Describe(t) is not { } description) { stderr.WriteLine($"fuzz replay: unknown target '{t}'"); return 2; }
            if (!BugOption.TryParse(description, r.GetValue(bugs) ?? [], stderr, out var bugList)) return 2;
            var corpusDirs = r.GetValue(corpus) ?? [];
            var crashDirs = r.GetValue(crashes) ?? [];
            if (corpusDirs.Length + crashDirs.Length == 0) { stderr.WriteLine("fuzz replay: give --corpus and/or --crashes"); return 2; }
            string o = r.GetValue(outDir)!;
            if (EmbeddedFarm.CheckWritable(o) is { } why) { stderr.WriteLine($"fuzz replay: cannot write to '{Path.GetFullPath(o)}': {why}"); return 2; }
            var job = NightlyReplays.Create(factory, t, bugList);
            job.Log += l => Console.WriteLine($"  {l}");
            var (items, bad) = NightlyReplay.Collect(corpusDirs, crashDirs, factory.Create(t, bugList));
            foreach (var b in bad) stderr.WriteLine($"fuzz replay: skipped {b.Path}: {b.Reason}");
            var previous = NightlyReplay.ReadBaseline(r.GetValue(baseline) ?? Path.Combine(o, "replay.json"));
            using var stop = new StopSignal(cancel);
            var sw = Stopwatch.StartNew();
            string executor;
            List<ReplayedEntry> entries;
            HashSet<uint> features;
            try
            {
                if (r.GetValue(broker) is { } b)
                {
                    if (!BrokerOption.TryOpen(b, r.GetValue(farm)!, stderr, "fuzz replay", out var transport, ConnectionNames.Of("replay", r.GetValue(farm)!, $"{Environment.MachineName}-{Environment.ProcessId}"))) return 2;
                    await using var _ = transport;
                    Console.WriteLine($"fuzz replay: {items.Count} entries over the workers of {transport.Description}");
                    (entries, features) = await job.RunOnWorkersAsync(transport, items, r.GetValue(chunk), TimeSpan.FromSeconds(Math.Max(1, r.GetValue(timeout))), stop.Token);
                    var by = entries.Select(e => e.By).Distinct().Order(StringComparer.Ordinal).ToList();
                    executor = $"tasks on {string.Join(", ", by)}";
                }
                else
                {
                    Console.WriteLine($"fuzz replay: {items.Count} entries on this machine");
                    (entries, features) = job.RunLocally(items, r.GetValue(chunk), stop.Token);
                    executor = $"local, {Environment.ProcessorCount} threads";
                }
            }
            catch (OperationCanceledException)
            {
                stderr.WriteLine("fuzz replay: stopped before the end; nothing written");
                return 2;
            }
            var report = job.Report(entries, features, previous, bad, executor, sw.Elapsed.TotalSeconds);
            NightlyReplay.Write(report, o);
            Console.Write(NightlyReplay.Markdown(report));
            Console.WriteLine($"written: {Path.Combine(Path.GetFullPath(o), "replay.md")} and replay.json");
            return report.Regressed ? 1 : 0;
        });
        return cmd;
    }
}
