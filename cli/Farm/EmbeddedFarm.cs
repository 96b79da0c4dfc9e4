using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Storage;
using Fuzz.Engine.Transport.Embedded;
using Fuzz.Worker.Node;

namespace Fuzz.Cli.Farm;

/// <summary>One stats.jsonl line.</summary>
public sealed record StatsLine(double Seconds, long Execs, double ExecsPerSecond, int Cov, int Ft, int Semantic, int Corp, int Crashes, long CrashesFound, int Workers);

/// <summary>
/// The farm in one process: a coordinator and a worker with N fuzz loops, connected through the
/// embedded broker exactly as they would be through RabbitMQ. The work directory gets the corpus,
/// the crashes and stats.jsonl.
/// </summary>
public sealed class EmbeddedFarm : IDisposable
{
    private readonly HashSet<CrashKey> _keys = new();
    private readonly EmbeddedTransport _coordinatorLink, _workerLink;

    public EmbeddedFarm(FuzzOptions options, ITargetFactory factory, int workers, string workDir, TimeSpan minimizeBudget)
    {
        Workers = Math.Max(1, workers);
        WorkDir = workDir;
        Broker = new EmbeddedBroker();
        _coordinatorLink = new EmbeddedTransport(Broker);
        _workerLink = new EmbeddedTransport(Broker);
        Coordinator = new CoordinatorNode(
            new CoordinatorOptions("coordinator", workDir, options.Target, options.Bugs) { MinimizeBudget = minimizeBudget, LoadWorkDirCorpus = false, StatsInterval = null },
            factory, _coordinatorLink);
        Worker = new WorkerNode(new WorkerOptions("worker", Workers, options), factory, _workerLink);
        Worker.Session.Crash += c =>
        {
            bool first;
            lock (_keys) first = _keys.Add(c.Violation.Key);
            if (first) FirstOfKind?.Invoke(c);
        };
        Coordinator.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
        Worker.StartAsync(CancellationToken.None).GetAwaiter().GetResult();
    }

    public int Workers { get; }
    public string WorkDir { get; }
    public EmbeddedBroker Broker { get; }
    public CoordinatorNode Coordinator { get; }
    public WorkerNode Worker { get; }
    public FuzzSession Session => Worker.Session;
    public CrashTriage Triage => Coordinator.Triage;

    /// <summary>The first crash of each invariant+site, as soon as a loop finds it (before triage).</summary>
    public event Action<CrashFound>? FirstOfKind;

    public int CrashKinds { get { lock (_keys) return _keys.Count; } }

    /// <summary>
    /// Checks that the work directory can be written, by writing and removing a file the way every
    /// output is written. Returns the reason when it cannot.
    /// </summary>
    public static string? CheckWritable(string workDir)
    {
        try
        {
            Directory.CreateDirectory(workDir);
            Directory.CreateDirectory(Path.Combine(workDir, "corpus"));
            Directory.CreateDirectory(Path.Combine(workDir, "crashes"));
            string probe = Path.Combine(workDir, ".write-probe");
            AtomicFile.Write(probe, [1]);
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            return e.Message;
        }
    }

    /// <summary>Loads seed directories and the work directory's own corpus, and runs every good input once.</summary>
    public IReadOnlyList<RejectedFile> LoadSeeds(IEnumerable<string> dirs)
    {
        var all = dirs.ToList();
        all.Insert(0, Coordinator.Store.Dir);
        var loop = Session.Loops[0];
        var target = Session.Factory.Create(Session.Options.Target, Session.Options.Bugs);
        var load = CorpusStore.Load(all.Distinct(), target.Codec, target.Vocabulary);
        foreach (var f in load.Good) loop.RunSeed(f.Data);
        return load.Bad;
    }

    /// <summary>Starts the loops; with <paramref name="runs"/>, they stop after that many executions in all (split evenly).</summary>
    public void Start(long? runs = null) => Worker.StartLoops(runs);

    public bool LoopsFinished => Worker.LoopsFinished;

    /// <summary>
    /// Stops the loops, lets the coordinator take everything they found, then lets triage finish
    /// what is queued within <paramref name="drain"/>.
    /// </summary>
    public void Stop(TimeSpan drain)
    {
        Worker.StopLoops();
        var deadline = DateTime.UtcNow + drain + TimeSpan.FromSeconds(10);
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try { Worker.FlushAsync(cts.Token).GetAwaiter().GetResult(); } catch (OperationCanceledException) { }
        }
        using (var cts = new CancellationTokenSource(drain + TimeSpan.FromSeconds(1)))
        {
            try { Coordinator.WaitIdleAsync(cts.Token).GetAwaiter().GetResult(); } catch (OperationCanceledException) { }
        }
        var left = deadline - DateTime.UtcNow;
        Triage.Stop(left > TimeSpan.Zero ? left : TimeSpan.Zero);
        Triage.Flush();
    }

    public StatsLine Stats(double execsPerSecond) => new(
        Math.Round(Session.Elapsed.TotalSeconds, 3), Session.Execs, Math.Round(execsPerSecond), Session.Features.Edges, Session.Features.Features,
        Session.Features.Semantic, Session.Corpus.Count, Math.Max(Triage.Unique, CrashKinds), Session.CrashesFound, Workers);

    public void Dispose()
    {
        Worker.DisposeAsync().AsTask().GetAwaiter().GetResult();
        Coordinator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _workerLink.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _coordinatorLink.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
