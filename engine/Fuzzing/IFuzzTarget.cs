using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>What one execution did: the verdict and the schedule it took (replayable as a choice stream).</summary>
public readonly record struct ExecResult(InvariantViolation? Violation, long Steps, byte[] Schedule, int Preemptions, int ContextSwitches);

/// <summary>
/// A fuzz target: a vocabulary of operations on a fresh model per execution. One instance per fuzz
/// loop; instances are not thread-safe.
/// </summary>
public interface IFuzzTarget
{
    string Name { get; }
    Vocabulary Vocabulary { get; }
    ProgramCodec Codec { get; }

    /// <summary>Semantic feature counters the model fills during <see cref="Execute"/> (null = off).</summary>
    byte[]? SemanticMap { get; set; }

    /// <summary>Runs <paramref name="program"/> on a fresh model; <paramref name="strategy"/> null = the program's own choice stream.</summary>
    ExecResult Execute(ProgramInput program, IScheduleStrategy? strategy = null);

    /// <summary>Replays with tracing on and returns the program, its timeline and the verdict as text.</summary>
    string Explain(ProgramInput program);
}

/// <summary>Creates targets by name with a set of seeded bug variants switched on.</summary>
public interface ITargetFactory
{
    IReadOnlyList<string> Targets { get; }
    IFuzzTarget Create(string target, IReadOnlyCollection<string> bugs);
}
