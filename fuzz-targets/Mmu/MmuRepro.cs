using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Minimization;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Targets.Mmu;

/// <summary>Replays programs of the mmu target for the minimiser.</summary>
public static class MmuRepro
{
    /// <summary>A replay function on one reusable runner; not thread-safe (one per minimisation).</summary>
    public static Func<ProgramInput, IScheduleStrategy?, ReproOutcome> Runner(BugSet bugs)
    {
        var runner = new MmuRunner(bugs);
        return (program, strategy) =>
        {
            var r = strategy is null ? runner.Run(program) : runner.Run(program, strategy);
            return new ReproOutcome(r.Violation is not null, r.Violation is { } v ? Key(v) : "",
                r.Steps, r.Preemptions, r.ContextSwitches, r.Schedule);
        };
    }

    /// <summary>
    /// The part of a violation's signature that identifies the bug: invariant id and detecting site,
    /// never a step, an address or a value. Every violation the model raises names its site; for one
    /// that does not, the operation being run stands in.
    /// </summary>
    public static string Key(InvariantViolation v) => $"{v.Id}:{(v.Site.Length > 0 ? v.Site : OperationName(v.Operation))}";

    /// <summary>"page_fault" from "#3 page_fault(slot=0, ...)".</summary>
    private static string OperationName(string operation)
    {
        int start = operation.IndexOf(' ') + 1, paren = operation.IndexOf('(');
        return paren > start ? operation[start..paren] : operation;
    }
}
