using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Minimization;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Crashes;

public static class CrashReplay
{
    /// <summary>The minimiser's replay function on <paramref name="target"/>, failures keyed by <see cref="CrashSignature.Key"/>.</summary>
    public static Func<ProgramInput, IScheduleStrategy?, ReproOutcome> Of(IFuzzTarget target) => (p, s) =>
    {
        var r = target.ExecuteSafely(p, s);
        return new ReproOutcome(r.Violation is not null, r.Violation is { } v ? CrashSignature.Key(v) : "", r.Steps, r.Preemptions, r.ContextSwitches, r.Schedule);
    };

    public static Minimizer MinimizerFor(IFuzzTarget target) => new(target.Vocabulary, Of(target));

    /// <summary>Minimises a crashing program and signs the result (from a replay of the minimised program).</summary>
    public static (MinimizeResult Result, ExecResult Final, string Signature) MinimizeAndSign(
        IFuzzTarget target, ProgramInput crash, TimeSpan budget, CancellationToken cancel)
    {
        var m = MinimizerFor(target).Minimize(crash, budget, cancel);
        var final = target.ExecuteSafely(m.Minimized);
        return (m, final, CrashSignature.Compute(final.Violation!, m.Minimized, final.Preemptions, target.Vocabulary));
    }
}
