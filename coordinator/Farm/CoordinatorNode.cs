using System.Diagnostics;
using System.Threading.Channels;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Feedback;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.Wire;

namespace Fuzz.Coordinator.Farm;

public sealed record CoordinatorOptions(string Name, string WorkDir, string Target, IReadOnlyCollection<string> Bugs)
{
    public TimeSpan MinimizeBudget { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A worker silent for this long is lost.</summary>
    public TimeSpan WorkerTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Run the work directory's corpus at start-up to learn its features (off when a local worker seeds it).</summary>
    public bool LoadWorkDirCorpus { get; init; } = true;

    /// <summary>Ask workers to minimise crashes (falls back to minimising here when none is alive).</summary>
    public bool MinimizeOnWorkers { get; init; } = true;

    /// <summary>Write stats.jsonl in the work directory every interval (null: the caller writes stats).</summary>
    public TimeSpan? StatsInterval { get; init; } = TimeSpan.FromSeconds(1);

    public int Prefetch { get; init; } = 4096;
}

/// <summary>
/// The coordinator: reads the events queue in batches and hands each message to its part: new
/// inputs to <see cref="CorpusMerge"/>, crashes to <see cref="CrashIntake"/>, signs of life and
/// goodbyes to <see cref="WorkerRegistry"/>, task results to <see cref="TaskDispatch"/>; its
/// counts are <see cref="FarmStats"/>. A second one started on the same broker is a standby: it
/// follows the logs (so its feature set, corpus and crashes stay current) and takes over the
/// events queue when the active one's connection goes.
/// </summary>
public sealed class CoordinatorNode : IAsyncDisposable
{
    private readonly ITransport _transport;
    private readonly EnvelopeFactory _envelopes;
    private readonly CorpusMerge _corpus;
    private readonly WorkerRegistry _workers;
    private readonly TaskDispatch _tasks;
    private readonly CrashIntake _crashes;
    private readonly FarmStats _stats;
    private readonly Channel<IDelivery> _inbox = Channel.CreateUnbounded<IDelivery>();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<IAsyncDisposable> _subscriptions = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly HashSet<string> _foreignSenders = new(StringComparer.Ordinal);
    private Task? _processor, _monitor;
    private long _inFlight;
    private int _active, _disposed;

    public CoordinatorNode(CoordinatorOptions options, ITargetFactory factory, ITransport transport)
    {
        Options = options;
        _transport = transport;
        _envelopes = new EnvelopeFactory(options.Name, FarmWire.Campaign(options.Target, options.Bugs));
        _workers = new WorkerRegistry(options.WorkerTimeout, () => Active, m => Log?.Invoke(m));
        _tasks = new TaskDispatch(options, transport, _envelopes, _workers);
        Directory.CreateDirectory(options.WorkDir);
        _corpus = new CorpusMerge(options, factory, transport, _envelopes, Rejected, m => Log?.Invoke(m));
        _crashes = new CrashIntake(options, factory, transport, _envelopes, Rejected, options.MinimizeOnWorkers ? _tasks.MinimizeOnWorker : null, _stop, m => Log?.Invoke(m));
        _stats = new FarmStats(options, _clock, () => Active, _corpus, _crashes, _workers, _tasks, Rejected);
    }

    public CoordinatorOptions Options { get; }
    public CorpusStore Store => _corpus.Store;

    /// <summary>Accepted inputs are durable here before they are acknowledged; their files in <see cref="Store"/> follow.</summary>
    public CorpusWal Wal => _corpus.Wal;
    public CrashTriage Triage => _crashes.Triage;
    public FeatureSet Features => _corpus.Features;
    public RejectionCounts Rejected { get; } = new();

    /// <summary>Holds the events queue (a standby becomes active when the active one goes).</summary>
    public bool Active => Volatile.Read(ref _active) != 0;

    public int CorpusCount => _corpus.Count;
    public long InputsAccepted => _corpus.InputsAccepted;
    public long InputsRedundant => _corpus.InputsRedundant;
    public long InputsReceived => _corpus.InputsReceived;
    public long Messages => _stats.Messages;
    public long CrashesReceived => _crashes.Received;

    /// <summary>Broker events about this farm's connections that were read (malformed ones are only counted).</summary>
    public long ConnectionEvents => _workers.ConnectionEvents;
    public long ConnectionEventsMalformed => _workers.ConnectionEventsMalformed;

    public const string LostByConnectionEvent = WorkerRegistry.LostByConnectionEvent;

    public IReadOnlyList<WorkerInfo> Workers => _workers.All;

    public event Action<string>? Log;

    /// <summary>Inputs this coordinator accepted (not those it learnt from the log).</summary>
    public event Action<AcceptedInput>? InputAccepted;

    public async Task StartAsync(CancellationToken cancel)
    {
        _corpus.LogRecovery();
        await _transport.ConnectAsync(cancel).ConfigureAwait(false);
        await _corpus.JoinAsync(_subscriptions, cancel).ConfigureAwait(false);

        _subscriptions.Add(await _transport.ReadLogAsync(Topology.Crashes, 0, _crashes.OnCrashRecord, cancel).ConfigureAwait(false));
        Triage.Start();
        _processor = Task.Run(ProcessLoop);
        _monitor = Task.Run(MonitorLoop);
        _subscriptions.Add(await _transport.WatchConnectionsAsync(_workers.OnConnectionEvent, cancel).ConfigureAwait(false));
        _subscriptions.Add(await _transport.ConsumeAsync(Topology.Events, Options.Prefetch, d => _inbox.Writer.WriteAsync(d).AsTask(), cancel).ConfigureAwait(false));
        Log?.Invoke($"{Options.Name}: {CorpusCount} inputs, {Features.Features} features; waiting for the events queue (standby until the active coordinator goes)");
    }

    private async Task ProcessLoop()
    {
        var reader = _inbox.Reader;
        var batch = new List<IDelivery>();
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                if (Interlocked.Exchange(ref _active, 1) == 0) Log?.Invoke($"{Options.Name}: active");
                while (batch.Count < 1024 && reader.TryRead(out var d)) batch.Add(d);
                Interlocked.Add(ref _inFlight, batch.Count);
                await Process(batch).ConfigureAwait(false);
                Interlocked.Add(ref _inFlight, -batch.Count);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
    }

    /// <summary>
    /// One batch of events: new inputs are decided, written and appended to the merged corpus in one
    /// record, and only then acknowledged; crashes are acknowledged when triage is done with them.
    /// </summary>
    private async Task Process(List<IDelivery> batch)
    {
        var inputs = new CorpusMerge.Batch();
        var ackAfterAppend = new List<IDelivery>();
        foreach (var d in batch)
        {
            _stats.CountMessage();
            var why = FarmWire.TryDecode(d.Body.Span, out var env);
            if (why == Rejection.None && env.Campaign != _envelopes.Campaign) why = Rejection.WrongCampaign;
            if (why != Rejection.None)
            {
                Rejected.Add(why);
                if (why == Rejection.WrongCampaign)
                {
                    lock (_foreignSenders)
                        if (_foreignSenders.Add(env.Sender)) Log?.Invoke($"messages from {env.Sender} (campaign {env.Campaign}, this farm runs {_envelopes.Campaign}) are dead-lettered");
                }
                else Log?.Invoke($"dead-lettered a message ({why}, {d.Body.Length} bytes)");
                await d.DeadLetterAsync().ConfigureAwait(false);
                continue;
            }
            switch (env.BodyCase)
            {
                case Envelope.BodyOneofCase.NewInputs:
                    _workers.Seen(env.Sender, null, env.SentUnixMs);
                    _corpus.Offer(inputs, env.Sender, env.SentUnixMs, env.NewInputs);
                    ackAfterAppend.Add(d);
                    break;
                case Envelope.BodyOneofCase.Crash:
                    _workers.Seen(env.Sender, null, env.SentUnixMs);
                    _crashes.OnCrash(env.Sender, env.Crash, d);
                    break;
                case Envelope.BodyOneofCase.Heartbeat:
                    _workers.Seen(env.Sender, env.Heartbeat, env.SentUnixMs);
                    await d.AckAsync().ConfigureAwait(false);
                    break;
                case Envelope.BodyOneofCase.Leaving:
                    _workers.Left(env.Sender);
                    await d.AckAsync().ConfigureAwait(false);
                    break;
                case Envelope.BodyOneofCase.TaskResult:
                    _tasks.Complete(env.TaskResult);
                    await d.AckAsync().ConfigureAwait(false);
                    break;
                default:
                    Rejected.Add(Rejection.Unexpected);
                    await d.DeadLetterAsync().ConfigureAwait(false);
                    break;
            }
        }
        await _corpus.CommitAsync(inputs, _stop.Token).ConfigureAwait(false);
        await Task.WhenAll(ackAfterAppend.Select(d => d.AckAsync())).ConfigureAwait(false);
        foreach (var a in inputs.Accepted) InputAccepted?.Invoke(a);
    }

    private async Task MonitorLoop()
    {
        StreamWriter? stats = _stats.OpenLog();
        try
        {
            var interval = Options.StatsInterval ?? TimeSpan.FromSeconds(1);
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(interval, _stop.Token).ConfigureAwait(false);
                _workers.ExpireSilent(DateTime.UtcNow);
                if (stats is not null) _stats.WriteLine(stats);
            }
        }
        catch (OperationCanceledException) { }
        finally
        {
            stats?.Dispose();
        }
    }

    public CoordinatorStats Stats() => _stats.Snapshot();

    /// <summary>Corpus propagation latency over the farm: every worker's histogram from its last heartbeat, added up.</summary>
    public static LatencyHistogram PropagationLatency(IEnumerable<WorkerInfo> workers) => FarmStats.PropagationLatency(workers);

    /// <summary>
    /// Waits until every event delivered so far and every crash queued has been dealt with, and
    /// (with <paramref name="files"/>) every accepted input's file is written.
    /// </summary>
    public async Task WaitIdleAsync(CancellationToken cancel, bool files = true)
    {
        while (true)
        {
            if (_inbox.Reader.Count == 0 && Interlocked.Read(ref _inFlight) == 0 && Triage.Pending == 0 && !Triage.Busy && (!files || Wal.Pending == 0) &&
                await _transport.CountAsync(Topology.Events, cancel).ConfigureAwait(false) == 0)
                return;
            await Task.Delay(20, cancel).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        foreach (var s in _subscriptions) await s.DisposeAsync().ConfigureAwait(false);
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var t in new[] { _processor, _monitor })
            if (t is not null)
                try { await t.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _crashes.Dispose();
        _corpus.Dispose();
        _stop.Dispose();
    }
}
