using Fuzz.Engine.Corpus;
using Fuzz.Engine.Feedback;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.Wire;
using Google.Protobuf;

namespace Fuzz.Coordinator.Farm;

/// <summary>
/// The global feature set and the merged corpus: an input is accepted only if it adds features,
/// written to the write-ahead log and appended to the merged-corpus log before it is acknowledged;
/// inputs another coordinator accepted are learnt from that log.
/// </summary>
internal sealed class CorpusMerge : IDisposable
{
    private readonly CoordinatorOptions _options;
    private readonly ITargetFactory _factory;
    private readonly ITransport _transport;
    private readonly EnvelopeFactory _envelopes;
    private readonly RejectionCounts _rejected;
    private readonly Action<string> _log;
    private readonly Lock _state = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);

    /// <summary>Names seen in the merged-corpus log (what a restarted coordinator need not publish again).</summary>
    private readonly HashSet<string> _logged = new(StringComparer.Ordinal);
    private readonly StreamWriter _inputsLog;
    private string? _marker;
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _received, _accepted, _redundant;

    public CorpusMerge(CoordinatorOptions options, ITargetFactory factory, ITransport transport, EnvelopeFactory envelopes, RejectionCounts rejected, Action<string> log)
    {
        _options = options;
        _factory = factory;
        _transport = transport;
        _envelopes = envelopes;
        _rejected = rejected;
        _log = log;
        Store = new CorpusStore(Path.Combine(options.WorkDir, "corpus", options.Target));
        Wal = new CorpusWal(Path.Combine(options.WorkDir, "accepted.wal"), Store);
        _inputsLog = new StreamWriter(new FileStream(Path.Combine(options.WorkDir, "inputs.log"), FileMode.Append, FileAccess.Write, FileShare.Read));
    }

    public CorpusStore Store { get; }
    public CorpusWal Wal { get; }
    public FeatureSet Features { get; } = new();

    public int Count { get { lock (_state) return _names.Count; } }
    public long InputsAccepted => Interlocked.Read(ref _accepted);
    public long InputsRedundant => Interlocked.Read(ref _redundant);
    public long InputsReceived => Interlocked.Read(ref _received);

    /// <summary>One batch's inputs: decided one by one, made durable and appended to the merged corpus together.</summary>
    public sealed class Batch
    {
        public List<AcceptedInput> Accepted { get; } = new();
        public List<NamedInput> Durable { get; } = new();
        public List<string> Journal { get; } = new();
    }

    public void LogRecovery()
    {
        if (Wal.Recovered > 0 || Wal.TornBytes > 0)
            _log($"{Wal.Path}: wrote {Wal.Recovered} corpus files a crash had left unwritten{(Wal.TornBytes > 0 ? $", moved {Wal.TornBytes} bytes of a torn record to {Wal.Path}.torn" : "")}");
    }

    /// <summary>
    /// Follows the merged-corpus log until it has read its own marker, then publishes the work
    /// directory's inputs the log did not have.
    /// </summary>
    public async Task JoinAsync(List<IAsyncDisposable> subscriptions, CancellationToken cancel)
    {
        var local = _options.LoadWorkDirCorpus ? LoadWorkDir() : [];

        _marker = Guid.NewGuid().ToString("N");
        subscriptions.Add(await _transport.ReadLogAsync(Topology.Corpus, 0, OnCorpusRecord, cancel).ConfigureAwait(false));
        var mark = _envelopes.New();
        mark.Accepted = new Accepted { Marker = _marker };
        await _transport.AppendAsync(Topology.Corpus, FarmWire.Encode(mark), cancel).ConfigureAwait(false);
        await _caughtUp.Task.WaitAsync(cancel).ConfigureAwait(false);

        var unpublished = new List<AcceptedInput>();
        lock (_state)
            foreach (var (name, data, features) in local)
                if (!_logged.Contains(name)) unpublished.Add(new AcceptedInput { Name = name, Data = ByteString.CopyFrom(data), Features = { features }, FoundBy = _options.Name });
        foreach (var chunk in unpublished.Chunk(256)) await AppendAccepted(chunk, cancel).ConfigureAwait(false);
        if (unpublished.Count > 0) _log($"published {unpublished.Count} inputs from the work directory that the merged corpus did not have");
    }

    /// <summary>The work directory's corpus, each input run once for its features; bad files are moved to quarantine/.</summary>
    private List<(string Name, byte[] Data, uint[] Features)> LoadWorkDir()
    {
        var replayer = new Replayer(_factory, _options.Target, _options.Bugs);
        var load = CorpusStore.Load(Store.Dir, replayer.Target.Codec, replayer.Target.Vocabulary);
        foreach (var bad in load.Bad) Quarantine(bad.Path, bad.Reason);
        var list = new List<(string, byte[], uint[])>();
        foreach (var f in load.Good)
        {
            var (r, features) = replayer.Run(f.Data);
            if (r.Violation is not null) { Quarantine(f.Path, "fails on the current model"); continue; }
            string name = CorpusStore.NameOf(f.Data);
            lock (_state)
            {
                Features.Add(features);
                _names.Add(name);
            }
            list.Add((name, f.Data, features));
        }
        return list;
    }

    private void Quarantine(string path, string reason)
    {
        try
        {
            string dir = Path.Combine(_options.WorkDir, "quarantine");
            Directory.CreateDirectory(dir);
            File.Move(path, Path.Combine(dir, Path.GetFileName(path)), overwrite: true);
            File.AppendAllText(Path.Combine(dir, "reasons.log"), $"{Path.GetFileName(path)}: {reason}\n");
            _log($"quarantined {path}: {reason}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log($"could not quarantine {path} ({reason}): {e.Message}");
        }
    }

    private Task OnCorpusRecord(LogRecord record)
    {
        var why = FarmWire.TryDecode(record.Body.Span, Envelope.BodyOneofCase.Accepted, out var env);
        if (why != Rejection.None)
        {
            _rejected.Add(why);
            _log($"merged-corpus record {record.Offset} skipped: {why}");
            return Task.CompletedTask;
        }
        if (env.Accepted.Marker.Length > 0 && env.Accepted.Marker == _marker) _caughtUp.TrySetResult();
        if (env.Campaign != _envelopes.Campaign) return Task.CompletedTask;
        foreach (var input in env.Accepted.Inputs)
        {
            var data = input.Data.ToByteArray();
            string name = CorpusStore.NameOf(data);
            bool fresh;
            lock (_state)
            {
                _logged.Add(name);
                fresh = _names.Add(name);
                if (fresh) Features.Add(input.Features.ToArray());
            }
            if (fresh) Wal.Materialize(new NamedInput(name, data));
        }
        return Task.CompletedTask;
    }

    /// <summary>Decides a worker's new inputs into <paramref name="batch"/>: taken if new and adding features, otherwise redundant.</summary>
    public void Offer(Batch batch, string sender, long sentUnixMs, NewInputs inputs)
    {
        foreach (var input in inputs.Inputs)
        {
            Interlocked.Increment(ref _received);
            var data = input.Data.ToByteArray();
            string name = CorpusStore.NameOf(data);
            bool take;
            lock (_state)
            {
                take = !_names.Contains(name) && Features.Add(input.Features.ToArray()) > 0;
                if (take) _names.Add(name);
            }
            if (take)
            {
                batch.Durable.Add(new NamedInput(name, data));
                Interlocked.Increment(ref _accepted);
                batch.Accepted.Add(new AcceptedInput { Name = name, Data = input.Data, Features = { input.Features }, FoundBy = sender, FoundUnixMs = input.FoundUnixMs > 0 ? input.FoundUnixMs : sentUnixMs });
                batch.Journal.Add($"accepted {name} {sender}");
            }
            else
            {
                Interlocked.Increment(ref _redundant);
                batch.Journal.Add($"redundant {name} {sender}");
            }
        }
    }

    /// <summary>Makes a batch's accepted inputs durable, journals its decisions and appends the accepted to the merged corpus.</summary>
    public async Task CommitAsync(Batch batch, CancellationToken cancel)
    {
        Wal.Append(batch.Durable);
        if (batch.Journal.Count > 0)
        {
            foreach (var line in batch.Journal) _inputsLog.WriteLine(line);
            _inputsLog.Flush();
        }
        foreach (var chunk in batch.Accepted.Chunk(256)) await AppendAccepted(chunk, cancel).ConfigureAwait(false);
    }

    private async Task AppendAccepted(IEnumerable<AcceptedInput> inputs, CancellationToken cancel)
    {
        var env = _envelopes.New();
        env.Accepted = new Accepted { Inputs = { inputs } };
        lock (_state)
            foreach (var i in env.Accepted.Inputs) _logged.Add(i.Name);
        var bytes = FarmWire.Encode(env);
        await Reliably.SendAsync(c => _transport.AppendAsync(Topology.Corpus, bytes, c), "appending to the merged corpus", _log, cancel).ConfigureAwait(false);
    }

    public void Dispose()
    {
        Wal.Dispose();
        lock (_inputsLog) _inputsLog.Dispose();
    }
}
