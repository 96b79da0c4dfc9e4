using MessagePack;

namespace Fuzz.Engine.Cluster.Contract;

// Coordinator -> workers and standbys: what the merge accepted and what triage filed. The merged
// corpus is a log: each accepted input has an offset in it, so a node that joins late or comes
// back asks for it from the offset it has.

[MessagePackObject]
public sealed record AcceptedInput(
    // Its content hash, the corpus file's name.
    [property: Key(0)] string Name,
    [property: Key(1)] byte[] Data,
    [property: Key(2)] uint[] Features,
    [property: Key(3)] string FoundBy,
    // When the finder found it: corpus propagation latency.
    [property: Key(4)] long FoundUnixMs)
{
    internal bool IsWellFormed => Name is not null && Data is not null && Features is not null && FoundBy is not null;
}

/// <summary>Inputs the merge accepted, <paramref name="FirstOffset"/> being the merged corpus offset of the first.</summary>
[MessagePackObject]
public sealed record Accepted(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] long FirstOffset,
    [property: Key(2)] AcceptedInput[] Inputs) : IFarmMessage
{
    public bool IsWellFormed() => Header is { IsWellFormed: true } && WellFormed.Items(Inputs, i => i.IsWellFormed);
}

/// <summary>Node -> coordinator: the merged corpus from <paramref name="FromOffset"/> on, in batches.</summary>
[MessagePackObject]
public sealed record CorpusRequest(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] long FromOffset) : IFarmMessage
{
    public bool IsWellFormed() => Header is { IsWellFormed: true };
}

/// <summary>A crash triage filed: its directory's files, for the standbys' replica of the crash index.</summary>
[MessagePackObject]
public sealed record FiledCrash(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] string Signature,
    [property: Key(2)] string ReportJson,
    [property: Key(3)] string ReportMd,
    [property: Key(4)] byte[] Input,
    [property: Key(5)] byte[] MinimizedInput,
    [property: Key(6)] string Trace) : IFarmMessage
{
    public bool IsWellFormed() =>
        Header is { IsWellFormed: true } && Signature is not null && ReportJson is not null && ReportMd is not null
        && Input is not null && MinimizedInput is not null && Trace is not null;
}
