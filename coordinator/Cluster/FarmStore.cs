using System.Text.Json;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Feedback;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Storage;
using Fuzz.Coordinator.Farm;

namespace Fuzz.Coordinator.Cluster;

/// <summary>
/// A coordinator node's disk: the merged corpus (its write-ahead log, the content-addressed files,
/// and the order it was merged in, which gives each input its offset), the global feature set, the
/// decisions journal (inputs.log) and the crash index with its triage. The singleton writes it while
/// it is active; on a standby the replica writes what the active one accepted and filed, so whichever
/// node holds the singleton next starts from everything acknowledged. Thread-safe.
/// </summary>
public sealed class FarmStore : IDisposable
{
    private readonly Lock _state = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly List<AcceptedInput> _log = new();
    private readonly StreamWriter _decisions;

    public FarmStore(CoordinatorOptions options, ITargetFactory factory, Action<string> log)
    {
        Options = options;
        Directory.CreateDirectory(options.WorkDir);
        Store = new CorpusStore(Path.Combine(options.WorkDir, "corpus", options.Target));
        Wal = new CorpusWal(Path.Combine(options.WorkDir, "accepted.wal"), Store);
        if (Wal.Recovered > 0 || Wal.TornBytes > 0)
            log($"{Wal.Path}: wrote {Wal.Recovered} corpus files a crash had left unwritten{(Wal.TornBytes > 0 ? $", moved {Wal.TornBytes} bytes of a torn record to {Wal.Path}.torn" : "")}");
        _decisions = new StreamWriter(new FileStream(Path.Combine(options.WorkDir, "inputs.log"), FileMode.Append, FileAccess.Write, FileShare.Read));
        Triage = new CrashTriage(factory, options.Target, options.Bugs, Path.Combine(options.WorkDir, "crashes"), options.MinimizeBudget);
        if (options.LoadWorkDirCorpus) LoadWorkDir(factory, log);
        Triage.Start();
    }

    public CoordinatorOptions Options { get; }
    public CorpusStore Store { get; }
    public CorpusWal Wal { get; }
    public CrashTriage Triage { get; }
    public FeatureSet Features { get; } = new();

    public int Count { get { lock (_state) return _log.Count; } }

    public bool Contains(string name) { lock (_state) return _names.Contains(name); }

    /// <summary>The work directory's corpus, each input run once for its features (inputs that fail on the model are left out).</summary>
    private void LoadWorkDir(ITargetFactory factory, Action<string> log)
    {
        var replayer = new Replayer(factory, Options.Target, Options.Bugs);
        var load = CorpusStore.Load(Store.Dir, replayer.Target.Codec, replayer.Target.Vocabulary);
        foreach (var bad in load.Bad) log($"{bad.Path} left out of the merged corpus: {bad.Reason}");
        foreach (var f in load.Good.OrderBy(f => f.Path, StringComparer.Ordinal))
        {
            var (r, features) = replayer.Run(f.Data);
            if (r.Violation is not null) { log($"{f.Path} left out of the merged corpus: fails on the current model"); continue; }
            string name = CorpusStore.NameOf(f.Data);
            lock (_state)
            {
                if (!_names.Add(name)) continue;
                Features.Add(features);
                _log.Add(new AcceptedInput(name, f.Data, features, Options.Name, 0));
            }
        }
    }

    /// <summary>
    /// Decides one reported input: taken when it is new and adds features. Accepted inputs are only
    /// durable after <see cref="Commit"/>.
    /// </summary>
    public bool Offer(string name, byte[] data, uint[] features)
    {
        lock (_state)
        {
            if (_names.Contains(name) || Features.Add(features) == 0) return false;
            _names.Add(name);
            return true;
        }
    }

    /// <summary>
    /// Makes <paramref name="accepted"/> durable (one write-ahead log record, flushed), journals the
    /// decisions and appends the accepted to the merged corpus; returns the offset of the first.
    /// </summary>
    public long Commit(IReadOnlyList<AcceptedInput> accepted, IEnumerable<string> decisions)
    {
        if (accepted.Count > 0) Wal.Append(accepted.Select(a => new NamedInput(a.Name, a.Data)).ToList());
        long first;
        lock (_state)
        {
            first = _log.Count;
            _log.AddRange(accepted);
            foreach (var line in decisions) _decisions.WriteLine(line);
            _decisions.Flush();
        }
        return first;
    }

    /// <summary>Inputs another coordinator accepted (a replica): those not known yet are made durable and appended.</summary>
    public int Adopt(IEnumerable<AcceptedInput> inputs)
    {
        var fresh = new List<AcceptedInput>();
        lock (_state)
            foreach (var a in inputs)
                if (_names.Add(a.Name))
                {
                    Features.Add(a.Features);
                    fresh.Add(a);
                }
        if (fresh.Count > 0) Commit(fresh, fresh.Select(a => $"accepted {a.Name} {a.FoundBy}"));
        return fresh.Count;
    }

    /// <summary>Up to <paramref name="max"/> inputs of the merged corpus from <paramref name="offset"/>, at most about <paramref name="maxBytes"/>.</summary>
    public AcceptedInput[] Read(long offset, int max, int maxBytes)
    {
        var list = new List<AcceptedInput>();
        long bytes = 0;
        lock (_state)
            for (long i = Math.Max(0, offset); i < _log.Count && list.Count < max; i++)
            {
                var a = _log[(int)i];
                bytes += a.Data.Length + a.Features.Length * 4 + 128;
                if (list.Count > 0 && bytes > maxBytes) break;
                list.Add(a);
            }
        return list.ToArray();
    }

    /// <summary>A crash filed here, as the message that hands it to the standbys; null when its files are not all there.</summary>
    public FiledCrash? FiledMessage(FarmHeader header, string signature)
    {
        string dir = Path.Combine(Triage.CrashesDir, signature);
        try
        {
            return new FiledCrash(header, signature, File.ReadAllText(Path.Combine(dir, "report.json")),
                File.Exists(Path.Combine(dir, "report.md")) ? File.ReadAllText(Path.Combine(dir, "report.md")) : "",
                File.ReadAllBytes(Path.Combine(dir, "input")), File.ReadAllBytes(Path.Combine(dir, "minimized")), File.ReadAllText(Path.Combine(dir, "trace.txt")));
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A crash the active coordinator filed (a replica); false when it was known or unreadable.</summary>
    public bool Adopt(FiledCrash f)
    {
        try
        {
            return JsonSerializer.Deserialize<CrashReport>(f.ReportJson) is { } report && report.Signature == f.Signature &&
                Triage.Adopt(report, f.Input, f.MinimizedInput, f.Trace, f.ReportMd);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Keeps a received crash's input as it came (crashes-received/&lt;sha256&gt;).</summary>
    public string KeepReceived(byte[] input)
    {
        string dir = Path.Combine(Options.WorkDir, "crashes-received");
        Directory.CreateDirectory(dir);
        string name = CorpusStore.NameOf(input);
        AtomicFile.Write(Path.Combine(dir, name), input);
        return name;
    }

    public void Dispose()
    {
        Triage.Stop(TimeSpan.FromSeconds(5));
        Triage.Flush();
        Triage.Dispose();
        Wal.Dispose();
        lock (_state) _decisions.Dispose();
    }
}
