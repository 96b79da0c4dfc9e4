using Fuzz.Engine.Crashes;
using MessagePack;

namespace Fuzz.Engine.Cluster.Contract;

// Worker -> coordinator. Every input and crash a worker reports carries a sequence number from one
// counter of that worker (1, 2, 3, ..., never reused: a restarted worker continues from its journal);
// the worker keeps each report until a ReportsAck covers its number, and resends it otherwise.
// Each report message also says how far the worker's acks go (AckedThrough): a coordinator that took
// over knows nothing of the worker, and counts its contiguous acks on from there.

/// <summary>An input that added features where it was found.</summary>
[MessagePackObject]
public sealed record ReportedInput(
    [property: Key(0)] ulong Seq,
    [property: Key(1)] byte[] Data,
    // Feature ids the input added where it was found.
    [property: Key(2)] uint[] Features,
    [property: Key(3)] long FoundAtExec,
    // When the finder's loop found it: corpus propagation latency starts here.
    [property: Key(4)] long FoundUnixMs)
{
    internal bool IsWellFormed => Data is not null && Features is not null;
}

/// <summary>A batch of what a worker's loops found since its last batch.</summary>
[MessagePackObject]
public sealed record NewInputs(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] ReportedInput[] Inputs,
    [property: Key(2)] ulong AckedThrough = 0) : IFarmMessage
{
    public bool IsWellFormed() => Header is { IsWellFormed: true } && WellFormed.Items(Inputs, i => i.IsWellFormed);
}

/// <summary>A violation as found, before triage re-runs and minimises it.</summary>
[MessagePackObject]
public sealed record ReportedCrash(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] ulong Seq,
    [property: Key(2)] byte[] Input,
    [property: Key(3)] CrashKey Key,
    [property: Key(4)] string Detail,
    [property: Key(5)] long FoundAtExec,
    [property: Key(6)] double FoundAtSeconds,
    [property: Key(7)] ulong AckedThrough = 0) : IFarmMessage
{
    public bool IsWellFormed() => Header is { IsWellFormed: true } && Input is not null && Key is not null && Detail is not null;
}

/// <summary>
/// Receiver -> reporter: everything numbered up to and including <paramref name="Through"/> is
/// persisted, so the reporter may forget it. Cumulative: a later ack covers every earlier one.
/// <paramref name="Above"/> names reports above it that are persisted too (behind one that is not
/// yet, a crash in triage say), so the reporter need not resend them.
/// </summary>
[MessagePackObject]
public sealed record ReportsAck(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] ulong Through,
    [property: Key(2)] ulong[]? Above = null) : IFarmMessage
{
    /// <summary>The most <see cref="Above"/> names in one ack.</summary>
    public const int MaxAbove = 8192;

    public bool IsWellFormed() => Header is { IsWellFormed: true } && (Above is null || Above.Length <= MaxAbove);
}

/// <summary>A worker's counters since it started.</summary>
[MessagePackObject]
public sealed record Heartbeat(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] int Jobs,
    [property: Key(2)] ulong Execs,
    [property: Key(3)] double ExecsPerSecond,
    [property: Key(4)] int Corpus,
    [property: Key(5)] int Features,
    [property: Key(6)] int Edges,
    [property: Key(7)] ulong Crashes,
    [property: Key(8)] ulong TasksDone,
    [property: Key(9)] ulong InputsReported,
    [property: Key(10)] ulong CorpusReceived,
    // Counts of corpus propagation latencies (found elsewhere -> imported here) in the farm's
    // latency buckets; the histograms of several workers add up.
    [property: Key(11)] ulong[] PropagationMs) : IFarmMessage
{
    public bool IsWellFormed() => Header is { IsWellFormed: true } && PropagationMs is not null;
}

/// <summary>A worker stops on purpose: its tasks go back to the queue at once, not after a failure detector's verdict.</summary>
[MessagePackObject]
public sealed record Leaving([property: Key(0)] FarmHeader Header) : IFarmMessage
{
    public bool IsWellFormed() => Header is { IsWellFormed: true };
}

/// <summary>Coordinator -> a node of another campaign: it is not part of this farm, and should stop rather than report into the void.</summary>
[MessagePackObject]
public sealed record Refused(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] string Reason) : IFarmMessage
{
    public bool IsWellFormed() => Header is { IsWellFormed: true } && Reason is not null;
}
