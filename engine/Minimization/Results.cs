using Fuzz.Engine.Input;

namespace Fuzz.Engine.Minimization;

/// <summary>
/// Outcome of replaying a program: whether it failed, the part of the failure signature that must
/// not change (<paramref name="Key"/>: invariant and site), and what the schedule did.
/// <paramref name="Schedule"/> holds the index picked at each decision and replays exactly as a choice stream.
/// </summary>
public readonly record struct ReproOutcome(bool Failed, string Key, long Steps, int Preemptions, int ContextSwitches, byte[] Schedule);

/// <summary>Size of a failing program. <paramref name="Threads"/> counts threads that have at least one operation.</summary>
public sealed record ProgramStats(int Ops, int Threads, int Preemptions, int ContextSwitches, long Steps, int Choices)
{
    public override string ToString() =>
        $"ops {Ops}, threads {Threads}, preemptions {Preemptions}, context switches {ContextSwitches}, steps {Steps}, choices {Choices}";
}

public sealed record MinimizeResult(
    ProgramInput Original, ProgramInput Minimized, string Key, ProgramStats Before, ProgramStats After,
    int Executions, TimeSpan Elapsed, bool TimedOut);
