using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Minimization;

namespace Fuzz.Engine.Crashes;

public static class CrashReplay
{
    public static Minimizer MinimizerFor(IFuzzTarget target) => new(target.Vocabulary, (p, s) => target.ExecuteSafely(p, s));

    /// <summary>Minimises a crashing program and signs the result (from a replay of the minimised program).</summary>
    public static (MinimizeResult Result, ExecResult Final, string Signature) MinimizeAndSign(
        IFuzzTarget target, ProgramInput crash, TimeSpan budget, CancellationToken cancel)
    {
        var m = MinimizerFor(target).Minimize(crash, budget, cancel);
        var final = target.ExecuteSafely(m.Minimized);
        return (m, final, CrashSignature.Compute(final.Key!, m.Minimized, final.Preemptions, target.Vocabulary));
    }
}
