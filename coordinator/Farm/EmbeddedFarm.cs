using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Storage;

namespace Fuzz.Coordinator.Farm;

/// <summary>One stats.jsonl line.</summary>
public sealed record StatsLine(double Seconds, long Execs, double ExecsPerSecond, int Cov, int Ft, int Semantic, int Corp, int Crashes, long CrashesFound, int Workers);

/// <summary>
/// The single-process farm: N fuzz loops on N threads sharing one session (corpus and global
/// feature set), crash triage on its own thread, the corpus, crashes and stats.jsonl in the work
/// directory.
/// </summary>
public sealed class EmbeddedFarm : IDisposable
{
    private readonly List<Thread> _threads = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<string> _keys = new(StringComparer.Ordinal);

    public EmbeddedFarm(FuzzOptions options, ITargetFactory factory, int workers, string? workDir, TimeSpan minimizeBudget)
    {
        Workers = Math.Max(1, workers);
        WorkDir = workDir;
        CorpusStore? store = null;
        if (workDir is not null)
        {
            store = new CorpusStore(Path.Combine(workDir, "corpus", options.Target));
            Triage = new CrashTriage(factory, options.Target, options.Bugs, Path.Combine(workDir, "crashes"), minimizeBudget);
        }
        Session = new FuzzSession(options, factory, store);
        for (int i = 0; i < Workers; i++) Session.CreateLoop();
        Session.Crash += c =>
        {
            bool first;
            lock (_keys) first = _keys.Add(CrashSignature.Key(c.Violation));
            Triage?.Submit(c);
            if (first) FirstOfKind?.Invoke(c);
        };
    }

    public int Workers { get; }
    public string? WorkDir { get; }
    public FuzzSession Session { get; }
    public CrashTriage? Triage { get; }

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
        if (Session.Store is { } s) all.Insert(0, s.Dir);
        var loop = Session.Loops[0];
        var target = Session.Factory.Create(Session.Options.Target, Session.Options.Bugs);
        var load = CorpusStore.Load(all.Distinct(), target.Codec, target.Vocabulary);
        foreach (var f in load.Good) loop.RunSeed(f.Data);
        return load.Bad;
    }

    /// <summary>Starts the loops; with <paramref name="runs"/>, they stop after that many executions in all (split evenly).</summary>
    public void Start(long? runs = null)
    {
        Triage?.Start();
        foreach (var loop in Session.Loops)
        {
            long share = runs is { } n ? n / Workers + (loop.Id < n % Workers ? 1 : 0) : long.MaxValue;
            var t = new Thread(() => loop.Run(_stop.Token, loop.Execs + share)) { Name = $"fuzz loop {loop.Id}", IsBackground = true };
            _threads.Add(t);
            t.Start();
        }
    }

    public bool LoopsFinished => _threads.All(t => !t.IsAlive);

    /// <summary>Stops the loops, then lets triage finish what is queued within <paramref name="drain"/>.</summary>
    public void Stop(TimeSpan drain)
    {
        _stop.Cancel();
        foreach (var t in _threads) t.Join();
        _threads.Clear();
        Triage?.Stop(drain);
        Triage?.Flush();
    }

    public StatsLine Stats(double execsPerSecond) => new(
        Math.Round(Session.Elapsed.TotalSeconds, 3), Session.Execs, Math.Round(execsPerSecond), Session.Features.Edges, Session.Features.Features,
        Session.Features.Semantic, Session.Corpus.Count, Math.Max(Triage?.Unique ?? 0, CrashKinds), Session.CrashesFound, Workers);

    public void Dispose()
    {
        _stop.Cancel();
        foreach (var t in _threads) t.Join();
        Triage?.Dispose();
        _stop.Dispose();
    }
}
