using System.CommandLine;
using System.Text;
using Fuzz.Engine.Input;
using Fuzz.Targets.Mmu;

namespace Fuzz.Coordinator.Commands;

/// <summary>fuzz repro: replay one input and print what happened. Exit 0 clean, 1 violation, 2 unusable arguments.</summary>
public static class ReproCommand
{
    public static Command Build()
    {
        var input = new Argument<FileInfo>("input-file") { Description = "the program to replay (any bytes are a valid program)" };
        var trace = new Option<bool>("--trace") { Description = "print the per-thread timeline" };
        var bugs = BugOption.Create();
        var cmd = new Command("repro", "Replay one input exactly and report the verdict") { input, trace, bugs };
        cmd.SetAction(r => Run(r.GetValue(input)!, r.GetValue(trace), r.GetValue(bugs) ?? [], Console.Out, Console.Error));
        return cmd;
    }

    public static int Run(FileInfo file, bool trace, string[] bugIds, TextWriter stdout, TextWriter stderr)
    {
        if (!BugOption.TryParse(bugIds, stderr, out var bugs)) return 2;
        byte[] bytes;
        long length;
        try
        {
            using var fs = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read);
            length = fs.Length;
            bytes = new byte[(int)Math.Min(length, ProgramInput.MaxEncodedBytes)];
            fs.ReadExactly(bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            stderr.WriteLine($"fuzz repro: cannot read '{file.FullName}': {e.Message}");
            return 2;
        }
        var program = MmuTarget.Codec.Decode(bytes);
        stdout.WriteLine($"input: {file.Name} ({length} bytes{(length > bytes.Length ? $"; the decoder reads the first {bytes.Length}" : "")})");
        stdout.WriteLine($"target: {MmuTarget.Name}  A/D bits: {(MmuTarget.AdEnabled(program.Config) ? "on" : "off")}  need_resched after: {MmuTarget.ReschedQuantum(program.Config)} steps  bugs: {(bugs.Ids.Any() ? string.Join(",", bugs.Ids) : "none")}");
        stdout.Write(MmuTarget.Codec.Describe(program));
        var runner = new MmuRunner(bugs) { Tracing = trace };
        var result = runner.Run(program);
        if (trace) stdout.Write(Timeline(result));
        stdout.WriteLine($"steps: {result.Steps}  scheduling decisions: {result.Schedule.Length}  preemptions: {result.Preemptions}  context switches: {result.ContextSwitches}");
        if (result.Violation is not { } v)
        {
            stdout.WriteLine("verdict: no invariant violated");
            return 0;
        }
        stdout.Write(Report(v));
        return 1;
    }

    public static string Report(Fuzz.Engine.Invariants.InvariantViolation v)
    {
        var sb = new StringBuilder();
        sb.AppendLine($"verdict: VIOLATION of invariant {v.Id} ({v.InvariantName})");
        sb.AppendLine($"  {v.Detail}");
        sb.AppendLine($"  site: {v.Site}");
        sb.AppendLine($"  actor: {v.Actor}  operation: {v.Operation}  step: {v.Step}");
        sb.AppendLine($"  schedule so far ({v.Schedule.Length} decisions): {Convert.ToHexString(v.Schedule).ToLowerInvariant()}");
        if (v.Dump.Length > 0)
        {
            sb.AppendLine("  state:");
            foreach (var line in v.Dump.Split('\n', StringSplitOptions.RemoveEmptyEntries)) sb.AppendLine("    " + line.TrimEnd());
        }
        return sb.ToString();
    }

    /// <summary>One line per event, the actor's column indented so each thread reads top to bottom.</summary>
    public static string Timeline(RunResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("timeline (step | thread | event):");
        foreach (var e in r.Trace)
        {
            if (e.Text == "(scheduled)") continue;
            string who = e.Actor >= 0 ? r.ActorNames[e.Actor] : "--";
            sb.AppendLine($"  {e.Step,6} | {new string(' ', Math.Max(0, e.Actor) * 4)}{who}: {e.Text}");
        }
        return sb.ToString();
    }
}

internal static class BugOption
{
    public static Option<string[]> Create() => new("--bug")
    {
        Description = "switch on a seeded bug variant by id (repeatable; see `fuzz targets`)",
        AllowMultipleArgumentsPerToken = true,
    };

    public static bool TryParse(string[] ids, TextWriter stderr, out BugSet bugs)
    {
        try
        {
            bugs = new BugSet(ids.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries)));
            return true;
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"fuzz: {e.Message}");
            bugs = BugSet.None;
            return false;
        }
    }
}
