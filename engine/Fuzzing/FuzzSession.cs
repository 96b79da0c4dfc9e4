using Fuzz.Engine.Corpus;
using Fuzz.Engine.Feedback;
using Fuzz.Engine.Invariants;

namespace Fuzz.Engine.Fuzzing;

public sealed record FuzzOptions(
    string Target, FuzzStrategy Strategy, ulong Seed, IReadOnlyCollection<string> Bugs, int GeneratedOps = 10, int MaxMutations = 4, int MaxOps = 12);

/// <summary>A violation found by a fuzz loop, before triage.</summary>
public sealed record CrashFound(byte[] Input, InvariantViolation Violation, int Loop, long Exec, TimeSpan Elapsed);

/// <summary>
/// What the fuzz loops of one process share: the global feature set, the corpus, counters, and
/// where new inputs and crashes go.
/// </summary>
public sealed class FuzzSession
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private long _crashes;

    public FuzzSession(FuzzOptions options, ITargetFactory factory, CorpusStore? store)
    {
        Options = options;
        Factory = factory;
        Store = store;
    }

    public FuzzOptions Options { get; }
    public ITargetFactory Factory { get; }
    public CorpusStore? Store { get; }
    public FeatureSet Features { get; } = new();
    public SharedCorpus Corpus { get; } = new();
    public TimeSpan Elapsed => _clock.Elapsed;
    public long CrashesFound => Interlocked.Read(ref _crashes);

    /// <summary>Executions done by every loop, kept per loop to avoid a shared counter on the hot path.</summary>
    public long Execs => _loops.Sum(l => l.Execs);

    private readonly List<FuzzLoop> _loops = new();
    public IReadOnlyList<FuzzLoop> Loops => _loops;

    public event Action<CorpusEntry, int>? NewInput;
    public event Action<CrashFound>? Crash;

    public FuzzLoop CreateLoop()
    {
        lock (_loops)
        {
            var loop = new FuzzLoop(this, _loops.Count);
            _loops.Add(loop);
            return loop;
        }
    }

    private readonly List<Thread> _threads = new();
    private CancellationTokenSource _loopsStop = new();

    /// <summary>Runs every loop on a thread of its own; with <paramref name="runs"/>, they stop after that many executions in all (split evenly).</summary>
    public void StartLoops(long? runs = null, string name = "fuzz")
    {
        if (_loopsStop.IsCancellationRequested) _loopsStop = new();
        var stop = _loopsStop.Token;
        foreach (var loop in Loops)
        {
            long until = runs is { } n ? loop.Execs + n / Loops.Count + (loop.Id < n % Loops.Count ? 1 : 0) : long.MaxValue;
            var t = new Thread(() => loop.Run(stop, until)) { Name = $"{name} loop {loop.Id}", IsBackground = true };
            _threads.Add(t);
            t.Start();
        }
    }

    public bool LoopsFinished => _threads.All(t => !t.IsAlive);

    public void StopLoops()
    {
        _loopsStop.Cancel();
        foreach (var t in _threads) t.Join();
        _threads.Clear();
    }

    /// <summary>Keeps an input that added features: in memory, then on disk, then tells listeners.</summary>
    internal void Accept(byte[] data, uint[] features, long exec, int loop)
    {
        var entry = new CorpusEntry(CorpusStore.NameOf(data), data, features.Length, exec, features);
        if (!Corpus.Add(entry)) return;
        Store?.Add(data);
        NewInput?.Invoke(entry, loop);
    }

    /// <summary>
    /// Takes an input merged elsewhere (another process found it): its features join the global set
    /// and it joins the corpus without being run here. Thread-safe; false when it is already there.
    /// </summary>
    public bool Import(string name, byte[] data, ReadOnlySpan<uint> features)
    {
        int added = Features.Add(features);
        if (!Corpus.Add(new CorpusEntry(name, data, added, -1, features.ToArray()))) return false;
        Store?.Add(data);
        return true;
    }

    internal void ReportCrash(CrashFound c)
    {
        Interlocked.Increment(ref _crashes);
        Crash?.Invoke(c);
    }
}
