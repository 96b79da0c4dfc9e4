using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;

namespace Fuzz.Tests.Minimization;

/// <summary>Replays programs of the mmu target for the minimiser.</summary>
internal static class MmuRepro
{
    /// <summary>A replay function on one reusable runner; not thread-safe (one per minimisation).</summary>
    public static Func<ProgramInput, IScheduleStrategy?, ExecResult> Runner(BugSet bugs)
    {
        IFuzzTarget runner = new MmuRunner(bugs);
        return (p, s) => runner.ExecuteSafely(p, s);
    }
}
