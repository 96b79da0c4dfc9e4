using System.Diagnostics;
using System.Text.Json;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Wire;

namespace Fuzz.Coordinator.Farm;

/// <summary>One stats.jsonl line of a coordinator.</summary>
public sealed record CoordinatorStats(
    double Seconds, bool Active, long Execs, double ExecsPerSecond, int Cov, int Ft, int Corp, int Crashes, int WorkersAlive, int WorkersLost,
    long InputsReceived, long InputsAccepted, long InputsRedundant, long Messages, long DeadLettered, long CrashesReceived, int CrashDuplicates,
    int CrashesNotReproduced, long TasksSent, double? PropagationP50Ms, double? PropagationP99Ms, long ConnectionEvents, long ConnectionEventsMalformed);

/// <summary>The coordinator's counts and rates, from its parts, and the stats.jsonl they are written to.</summary>
/// <param name="clock">Started with the coordinator.</param>
internal sealed class FarmStats(CoordinatorOptions options, Stopwatch clock, Func<bool> active, CorpusMerge corpus, CrashIntake crashes, WorkerRegistry workers, TaskDispatch tasks, RejectionCounts rejected)
{
    private long _messages;

    public long Messages => Interlocked.Read(ref _messages);

    public void CountMessage() => Interlocked.Increment(ref _messages);

    public CoordinatorStats Snapshot()
    {
        var all = workers.All;
        var alive = all.Where(w => w.State == WorkerState.Alive).ToList();
        var propagation = PropagationLatency(all);
        return new CoordinatorStats(
            Math.Round(clock.Elapsed.TotalSeconds, 3), active(), all.Sum(w => (long)w.Last.Execs), Math.Round(alive.Sum(w => w.Last.ExecsPerSecond)),
            corpus.Features.Edges, corpus.Features.Features, corpus.Count, crashes.Triage.Unique, alive.Count, all.Count(w => w.State == WorkerState.Lost),
            corpus.InputsReceived, corpus.InputsAccepted, corpus.InputsRedundant, Messages, rejected.Total, crashes.Received, crashes.Triage.Duplicates, crashes.Triage.NotReproduced,
            tasks.TasksSent, propagation.FinitePercentile(50), propagation.FinitePercentile(99), workers.ConnectionEvents, workers.ConnectionEventsMalformed);
    }

    /// <summary>Corpus propagation latency over the farm: every worker's histogram from its last heartbeat, added up.</summary>
    public static LatencyHistogram PropagationLatency(IEnumerable<WorkerInfo> workers)
    {
        var all = new LatencyHistogram();
        foreach (var w in workers) all.Merge(new LatencyHistogram(w.Last.PropagationMs));
        return all;
    }

    /// <summary>stats.jsonl in the work directory, appended to; null when the caller writes stats.</summary>
    public StreamWriter? OpenLog() => options.StatsInterval is null ? null
        : new StreamWriter(new FileStream(Path.Combine(options.WorkDir, "stats.jsonl"), FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };

    public void WriteLine(StreamWriter log) => log.WriteLine(JsonSerializer.Serialize(Snapshot(), StatsJson.Options));
}
