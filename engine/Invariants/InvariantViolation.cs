using Fuzz.Engine.Crashes;

namespace Fuzz.Engine.Invariants;

/// <summary>An invariant of the model broke. Carries everything a report needs.</summary>
public sealed class InvariantViolation : Exception
{
    private CrashKey? _key;

    public InvariantViolation(int id, string name, string detail, string dump = "")
        : base($"invariant {id} ({name}) violated: {detail}")
    {
        Id = id;
        InvariantName = name;
        Detail = detail;
        Dump = dump;
    }

    public int Id { get; }
    public string InvariantName { get; }
    public string Detail { get; }
    public string Dump { get; internal set; }

    /// <summary>Actor and operation that were running when the violation was found.</summary>
    public string Actor { get; internal set; } = "";
    public string Operation { get; set; } = "";
    public long Step { get; internal set; }

    /// <summary>The vocabulary name of the running operation ("page_fault"), stamped by the machine.</summary>
    public string OperationName { get; internal set; } = "";

    /// <summary>The model function (site) that detected it; part of the crash signature.</summary>
    public string Site { get; init; } = "";

    /// <summary>The site is the runtime's own detector, which catches faults on behalf of whatever ran.</summary>
    public bool RuntimeDetector { get; init; }

    /// <summary>Every scheduling decision made so far (index into the runnable set), replayable as a choice stream.</summary>
    public byte[] Schedule { get; internal set; } = [];

    /// <summary>The crash's identity, from what the raise site and the machine's stamp recorded.</summary>
    public CrashKey Key => _key ??= CrashKey.Of(Id, Site, RuntimeDetector, OperationName);
}

/// <summary>Invariant ids the runtime itself reports (memory safety and liveness); set by the target.</summary>
public sealed record RuntimeInvariants(int SafeFreeId, string SafeFreeName, int LivenessId, string LivenessName)
{
    public static readonly RuntimeInvariants Default = new(0, "memory safety", 0, "liveness");
}
