using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;

namespace Fuzz.Engine.Minimization;

/// <summary>Size of a failing program and of its run. <paramref name="Threads"/> counts threads that have at least one operation.</summary>
public sealed record ProgramShape(int Ops, int Threads, int Preemptions, int ContextSwitches, long Steps, int Choices)
{
    public static readonly ProgramShape None = new(0, 0, 0, 0, 0, 0);

    public static ProgramShape Of(ProgramInput p, in ExecResult r) =>
        new(p.Ops.Length, p.ActiveThreads, r.Preemptions, r.ContextSwitches, r.Steps, p.Choices.Length);

    public override string ToString() =>
        $"ops {Ops}, threads {Threads}, preemptions {Preemptions}, context switches {ContextSwitches}, steps {Steps}, choices {Choices}";
}
