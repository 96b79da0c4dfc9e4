using Fuzz.Engine.Crashes;
using Fuzz.Engine.Minimization;
using MessagePack;

namespace Fuzz.Engine.Cluster.Contract;

// Tasks are pulled: a worker asks for as many as it has room for, runs each on the target and
// bugs the task names, and answers with the task's id.

/// <summary>Worker -> task dispatch: up to <paramref name="Slots"/> more tasks, please.</summary>
[MessagePackObject]
public sealed record TaskRequest(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] int Slots) : IFarmMessage
{
    public bool IsWellFormed() => Header is { IsWellFormed: true };
}

public enum ReplayItemKind { Corpus, Crash }

[MessagePackObject]
public sealed record ReplayItem(
    [property: Key(0)] string Name,
    [property: Key(1)] byte[] Data,
    [property: Key(2)] ReplayItemKind Kind)
{
    internal bool IsWellFormed => Name is not null && Data is not null && Enum.IsDefined(Kind);
}

/// <summary>Replay a chunk of the corpus or of the known crashes against the current model.</summary>
[MessagePackObject]
public sealed record ReplayTask(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] string Id,
    [property: Key(2)] string Target,
    [property: Key(3)] string[] Bugs,
    [property: Key(4)] ReplayItem[] Items) : IFarmMessage
{
    public bool IsWellFormed() =>
        Header is { IsWellFormed: true } && Id is not null && Target is not null && WellFormed.Strings(Bugs) && WellFormed.Items(Items, i => i.IsWellFormed);
}

/// <summary>Minimise a crash, keeping its key, within a time budget.</summary>
[MessagePackObject]
public sealed record MinimizeTask(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] string Id,
    [property: Key(2)] string Target,
    [property: Key(3)] string[] Bugs,
    [property: Key(4)] byte[] Input,
    [property: Key(5)] CrashKey Key,
    [property: Key(6)] double BudgetSeconds) : IFarmMessage
{
    public bool IsWellFormed() =>
        Header is { IsWellFormed: true } && Id is not null && Target is not null && WellFormed.Strings(Bugs) && Input is not null && Key is not null;
}

/// <summary>One replayed entry. <paramref name="Key"/> is null when it did not fail.</summary>
[MessagePackObject]
public sealed record ReplayVerdict(
    [property: Key(0)] string Name,
    [property: Key(1)] ReplayItemKind Kind,
    [property: Key(2)] CrashKey? Key,
    [property: Key(3)] string Detail,
    [property: Key(4)] int FeatureCount,
    // FNV-1a over the ascending feature ids: tells whether an entry's coverage changed.
    [property: Key(5)] ulong FeatureHash,
    // For a crash that still fails: the signature of its (already minimal) input.
    [property: Key(6)] string Signature)
{
    internal bool IsWellFormed => Name is not null && Enum.IsDefined(Kind) && Detail is not null && Signature is not null;
}

[MessagePackObject]
public sealed record ReplayResult(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] string TaskId,
    [property: Key(2)] ReplayVerdict[] Verdicts,
    // Union of the chunk's features.
    [property: Key(3)] uint[] Features) : IFarmMessage
{
    public bool IsWellFormed() =>
        Header is { IsWellFormed: true } && TaskId is not null && WellFormed.Items(Verdicts, v => v.IsWellFormed) && Features is not null;
}

[MessagePackObject]
public sealed record MinimizedCrash(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] string TaskId,
    [property: Key(2)] byte[] Input,
    [property: Key(3)] byte[] MinimizedInput,
    [property: Key(4)] CrashKey Key,
    [property: Key(5)] ProgramShape Before,
    [property: Key(6)] ProgramShape After,
    [property: Key(7)] double Seconds,
    [property: Key(8)] int Executions,
    [property: Key(9)] bool TimedOut) : IFarmMessage
{
    public bool IsWellFormed() =>
        Header is { IsWellFormed: true } && TaskId is not null && Input is not null && MinimizedInput is not null
        && Key is not null && Before is not null && After is not null;
}

/// <summary>A task that could not run (unknown target or bug, an input the task refused): counted by its dispatcher, not retried.</summary>
[MessagePackObject]
public sealed record TaskFailed(
    [property: Key(0)] FarmHeader Header,
    [property: Key(1)] string TaskId,
    [property: Key(2)] string Reason) : IFarmMessage
{
    public bool IsWellFormed() => Header is { IsWellFormed: true } && TaskId is not null && Reason is not null;
}
