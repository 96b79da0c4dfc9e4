using System.Text;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Tracing;

namespace Fuzz.Targets.Mmu;

/// <summary>Human-readable accounts of a run: the verdict with the model state, and the per-thread timeline.</summary>
public static class MmuReport
{
    public static string Report(InvariantViolation v)
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
    public static string Timeline(ExecResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine("timeline (step | thread | event):");
        foreach (var e in r.Events)
        {
            if (e.Kind == TraceEventKind.Scheduled) continue;
            string who = e.Actor >= 0 ? Labels.Thread[e.Actor] : "--";
            sb.AppendLine($"  {e.Step,6} | {new string(' ', Math.Max(0, e.Actor) * 4)}{who}: {e.Text}");
        }
        return sb.ToString();
    }

    /// <summary>The program, its timeline, and the verdict: what `fuzz repro --trace` prints.</summary>
    public static string Explain(ProgramInput program, ExecResult result, BugSet bugs) => Header(program, bugs) + Outcome(result);

    /// <summary>The configuration and the program, before it runs.</summary>
    public static string Header(ProgramInput program, BugSet bugs) =>
        $"target: {MmuTarget.Name}  A/D bits: {(MmuTarget.AdEnabled(program.Config) ? "on" : "off")}  need_resched after: {MmuTarget.ReschedQuantum(program.Config)} steps  bugs: {(bugs.Ids.Any() ? string.Join(",", bugs.Ids) : "none")}\n"
        + MmuTarget.Codec.Describe(program);

    /// <summary>The timeline (when traced), what the schedule did, and the verdict.</summary>
    public static string Outcome(ExecResult result)
    {
        var sb = new StringBuilder();
        if (result.Events.Count > 0) sb.Append(Timeline(result));
        sb.AppendLine($"steps: {result.Steps}  scheduling decisions: {result.Schedule.Length}  preemptions: {result.Preemptions}  context switches: {result.ContextSwitches}");
        sb.Append(result.Violation is { } v ? Report(v) : "verdict: no invariant violated\n");
        return sb.ToString();
    }
}
