using Fuzz.Engine.Crashes;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Tracing;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// What one execution did: the verdict and the schedule it took. <see cref="Schedule"/> holds the
/// index picked at each decision and replays exactly as a choice stream; <see cref="Trace"/> is
/// empty unless tracing was on.
/// </summary>
public readonly record struct ExecResult(
    InvariantViolation? Violation, long Steps, byte[] Schedule, int Preemptions, int ContextSwitches,
    ulong EventHash = 0, IReadOnlyList<TraceEvent>? Trace = null)
{
    public bool Failed => Violation is not null;

    /// <summary>The failure's identity, or null when nothing failed.</summary>
    public CrashKey? Key => Violation?.Key;

    public IReadOnlyList<TraceEvent> Events => Trace ?? [];
}
