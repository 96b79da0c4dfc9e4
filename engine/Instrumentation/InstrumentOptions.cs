namespace Fuzz.Instrumentation;

/// <summary>What to instrument and where the uninstrumented input goes.</summary>
public sealed record InstrumentOptions
{
    /// <summary>
    /// Prefixes of full type names (a nested type counts as its top-level type), or exact
    /// <c>Namespace.Type::Method</c> names; empty means every type.
    /// </summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>Same forms as <see cref="Include"/>; wins over it.</summary>
    public IReadOnlyList<string> Exclude { get; init; } = [];

    /// <summary>
    /// Leave out the probes that carry nothing of their own: methods that are one straight-line block,
    /// blocks the control flow implies (<see cref="Dominance"/>), and a state machine's resume points;
    /// its entry probe goes where its first call lands.
    /// </summary>
    public bool Prune { get; init; }

    /// <summary>Where to copy the input (and its .pdb) before instrumenting it; nothing is copied when it is already instrumented.</summary>
    public string? RawCopyPath { get; init; }
}

/// <summary>The outcome: what was written, or that the input already carried probes.</summary>
public sealed record InstrumentResult(string OutputPath, bool AlreadyInstrumented, int Methods, int Probes, int DistinctIds)
{
    public string Summary => AlreadyInstrumented
        ? $"{OutputPath}: already instrumented"
        : $"{OutputPath}: instrumented {Methods} methods, {Probes} probes ({DistinctIds} distinct ids)";
}

/// <summary>An input that cannot be instrumented, with a message for the user.</summary>
public sealed class InstrumentationException(string message, Exception? inner = null) : Exception(message, inner);
