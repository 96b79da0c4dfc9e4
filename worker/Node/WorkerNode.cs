using System.Threading.Channels;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.Wire;
using Fuzz.Worker.Tasks;
using Google.Protobuf;

namespace Fuzz.Worker.Node;

public sealed record WorkerOptions(string Name, int Jobs, FuzzOptions Fuzz)
{
    public TimeSpan HeartbeatInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>New inputs found within this window go out in one message.</summary>
    public TimeSpan BatchWindow { get; init; } = TimeSpan.FromMilliseconds(100);
    public int MaxBatch { get; init; } = 256;

    /// <summary>Crashes with the same invariant and site reported to the coordinator (it minimises at most this many per key).</summary>
    public int CrashReportsPerKey { get; init; } = CrashTriage.MaxMinimizationsPerKey;

    /// <summary>Appends one line per confirmed publication ("input &lt;sha256&gt;", "crash &lt;sha256&gt;"): what this worker handed over.</summary>
    public string? JournalPath { get; init; }

    /// <summary>Take replay and minimisation tasks.</summary>
    public bool Tasks { get; init; } = true;
}

/// <summary>
/// A worker: N fuzz loops on N threads sharing one session, fed by the merged corpus from the
/// coordinator (everything merged so far, then whatever is merged next), reporting new inputs,
/// crashes and heartbeats, and taking tasks (replay a chunk, minimise a crash) one at a time.
/// </summary>
public sealed class WorkerNode : IAsyncDisposable
{
    private readonly ITransport _transport;
    private readonly EnvelopeFactory _envelopes;
    private readonly TaskRunner _tasks;
    private readonly Channel<object> _outbox = Channel.CreateUnbounded<object>();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<IAsyncDisposable> _subscriptions = new();
    private readonly Dictionary<CrashKey, int> _crashKeys = new();
    private readonly StreamWriter? _journal;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private Task? _publisher, _heartbeat;
    private long _published, _crashesReported, _received, _tasksDone, _unconfirmed, _lastExecs;
    private double _lastT;
    private int _disposed;

    public WorkerNode(WorkerOptions options, ITargetFactory factory, ITransport transport)
    {
        Options = options;
        _transport = transport;
        _envelopes = new EnvelopeFactory(options.Name, FarmWire.Campaign(options.Fuzz.Target, options.Fuzz.Bugs));
        _tasks = new TaskRunner(factory);
        Session = new FuzzSession(options.Fuzz, factory, store: null);
        for (int i = 0; i < Math.Max(1, options.Jobs); i++) Session.CreateLoop();
        Session.NewInput += (e, _) => Enqueue(e);
        Session.Crash += OnCrash;
        if (options.JournalPath is { } j)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(j))!);
            _journal = new StreamWriter(new FileStream(j, FileMode.Append, FileAccess.Write, FileShare.Read));
        }
    }

    public WorkerOptions Options { get; }
    public FuzzSession Session { get; }
    public string Name => Options.Name;
    public long InputsPublished => Interlocked.Read(ref _published);
    public long CrashesReported => Interlocked.Read(ref _crashesReported);
    public long CorpusReceived => Interlocked.Read(ref _received);
    public long TasksDone => Interlocked.Read(ref _tasksDone);
    public RejectionCounts Rejected { get; } = new();

    /// <summary>Milliseconds from another worker's loop finding an input to its import here.</summary>
    public LatencyHistogram PropagationLatency { get; } = new();

    /// <summary>Progress worth a line in the worker's log (tasks, rejected messages, publish retries).</summary>
    public event Action<string>? Log;

    public async Task StartAsync(CancellationToken cancel)
    {
        await _transport.ConnectAsync(cancel).ConfigureAwait(false);
        _subscriptions.Add(await _transport.ReadLogAsync(Topology.Corpus, 0, OnCorpusRecord, cancel).ConfigureAwait(false));
        if (Options.Tasks) _subscriptions.Add(await _transport.ConsumeAsync(Topology.Tasks, 1, OnTask, cancel).ConfigureAwait(false));
        _publisher = Task.Run(PublishLoop);
        _heartbeat = Task.Run(HeartbeatLoop);
    }

    /// <summary>Starts the fuzz loops; with <paramref name="runs"/>, they stop after that many executions in all.</summary>
    public void StartLoops(long? runs = null) => Session.StartLoops(runs, Name);

    public bool LoopsFinished => Session.LoopsFinished;

    public void StopLoops() => Session.StopLoops();

    /// <summary>Waits until everything found so far has been confirmed by the broker.</summary>
    public async Task FlushAsync(CancellationToken cancel)
    {
        while (Interlocked.Read(ref _unconfirmed) > 0) await Task.Delay(10, cancel).ConfigureAwait(false);
    }

    private sealed record Found(CorpusEntry Entry, long UnixMs);

    private void Enqueue(CorpusEntry e)
    {
        Interlocked.Increment(ref _unconfirmed);
        if (!_outbox.Writer.TryWrite(new Found(e, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()))) Interlocked.Decrement(ref _unconfirmed);
    }

    private void OnCrash(CrashFound c)
    {
        var key = c.Violation.Key;
        lock (_crashKeys)
        {
            int n = _crashKeys.GetValueOrDefault(key);
            if (n >= Options.CrashReportsPerKey) return;
            _crashKeys[key] = n + 1;
        }
        Interlocked.Increment(ref _unconfirmed);
        if (!_outbox.Writer.TryWrite(c)) Interlocked.Decrement(ref _unconfirmed);
    }

    private async Task PublishLoop()
    {
        var reader = _outbox.Reader;
        var batch = new List<Found>();
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                if (Options.BatchWindow > TimeSpan.Zero && reader.Count < Options.MaxBatch)
                    await Task.Delay(Options.BatchWindow, _stop.Token).ConfigureAwait(false);
                while (batch.Count < Options.MaxBatch && reader.TryRead(out var item))
                {
                    if (item is Found e) batch.Add(e);
                    else if (item is CrashFound c) await PublishCrash(c).ConfigureAwait(false);
                }
                if (batch.Count == 0) continue;
                var env = _envelopes.New();
                env.NewInputs = new NewInputs();
                foreach (var (e, at) in batch)
                    env.NewInputs.Inputs.Add(new Input { Data = ByteString.CopyFrom(e.Data), Features = { e.Features }, FoundAtExec = e.FoundAtExec, FoundUnixMs = at });
                await PublishReliably(Topology.Events, env).ConfigureAwait(false);
                Interlocked.Add(ref _published, batch.Count);
                Journal(batch.Select(e => $"input {e.Entry.Name}"));
                Interlocked.Add(ref _unconfirmed, -batch.Count);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
    }

    private async Task PublishCrash(CrashFound c)
    {
        var env = _envelopes.New();
        env.Crash = new Crash
        {
            Input = ByteString.CopyFrom(c.Input), Key = c.Violation.Key.ToWire(), Detail = c.Violation.Detail,
            FoundAtExec = c.Exec, FoundAtSeconds = c.Elapsed.TotalSeconds,
        };
        await PublishReliably(Topology.Events, env).ConfigureAwait(false);
        Interlocked.Increment(ref _crashesReported);
        Journal([$"crash {CorpusStore.NameOf(c.Input)}"]);
        Interlocked.Decrement(ref _unconfirmed);
    }

    /// <summary>Publishes until the broker confirms; a lost connection is waited out, never a lost message.</summary>
    private Task PublishReliably(string queue, Envelope env)
    {
        var bytes = FarmWire.Encode(env);
        return Reliably.SendAsync(c => _transport.PublishAsync(queue, bytes, c), $"publish to {queue}", Log, _stop.Token);
    }

    private void Journal(IEnumerable<string> lines)
    {
        if (_journal is null) return;
        lock (_journal)
        {
            foreach (var l in lines) _journal.WriteLine(l);
            _journal.Flush();
        }
    }

    private async Task HeartbeatLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var env = _envelopes.New();
                env.Heartbeat = Heartbeat();
                try { await _transport.PublishAsync(Topology.Events, FarmWire.Encode(env), _stop.Token).ConfigureAwait(false); }
                catch (Exception e) when (e is not OperationCanceledException) { }
                await Task.Delay(Options.HeartbeatInterval, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) { }
    }

    public Heartbeat Heartbeat()
    {
        long execs = Session.Execs;
        double now = _clock.Elapsed.TotalSeconds;
        double rate = now > _lastT ? (execs - _lastExecs) / (now - _lastT) : 0;
        _lastExecs = execs;
        _lastT = now;
        return new Heartbeat
        {
            Jobs = (uint)Session.Loops.Count, Execs = (ulong)execs, ExecsPerSecond = rate, Corpus = (uint)Session.Corpus.Count,
            Features = (uint)Session.Features.Features, Edges = (uint)Session.Features.Edges, Crashes = (ulong)Session.CrashesFound,
            TasksDone = (ulong)TasksDone, InputsPublished = (ulong)InputsPublished, CorpusReceived = (ulong)CorpusReceived,
            PropagationMs = { PropagationLatency.Snapshot().AsSpan().TrimEnd(0UL).ToArray() },
        };
    }

    private Task OnCorpusRecord(LogRecord record)
    {
        var why = FarmWire.TryDecode(record.Body.Span, Envelope.BodyOneofCase.Accepted, out var env);
        if (why != Rejection.None)
        {
            Rejected.Add(why);
            Log?.Invoke($"corpus record {record.Offset} skipped: {why}");
            return Task.CompletedTask;
        }
        if (env.Campaign != _envelopes.Campaign) return Task.CompletedTask;
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var input in env.Accepted.Inputs)
        {
            var data = input.Data.ToByteArray();
            if (!Session.Import(CorpusStore.NameOf(data), data, input.Features.ToArray())) continue;
            Interlocked.Increment(ref _received);
            if (input.FoundBy != Name && input.FoundUnixMs > 0) PropagationLatency.Add(now - input.FoundUnixMs);
        }
        return Task.CompletedTask;
    }

    private async Task OnTask(IDelivery d)
    {
        var why = FarmWire.TryDecode(d.Body.Span, Envelope.BodyOneofCase.Task, out var env);
        if (why != Rejection.None)
        {
            Rejected.Add(why);
            Log?.Invoke($"task message dead-lettered: {why}");
            await d.DeadLetterAsync().ConfigureAwait(false);
            return;
        }
        var task = env.Task;
        Log?.Invoke($"task {task.Id} started ({task.KindCase}{(d.Redelivered ? ", redelivered" : "")})");
        TaskResult result;
        try
        {
            result = await Task.Run(() => _tasks.Run(task, _stop.Token), _stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            result = new TaskResult { TaskId = task.Id, Failed = $"{e.GetType().Name}: {e.Message}" };
        }
        var reply = _envelopes.New();
        reply.TaskResult = result;
        try
        {
            await PublishReliably(task.ReplyTo.Length > 0 ? task.ReplyTo : Topology.Events, reply).ConfigureAwait(false);
        }
        catch (OperationCanceledException) { return; }
        await d.AckAsync().ConfigureAwait(false);
        Interlocked.Increment(ref _tasksDone);
        Log?.Invoke($"task {task.Id} finished ({result.KindCase})");
    }

    /// <summary>Stops the loops, hands over what is unconfirmed (up to <paramref name="flush"/>), says goodbye, and disconnects its consumers.</summary>
    public async Task StopAsync(TimeSpan flush)
    {
        StopLoops();
        using (var cts = new CancellationTokenSource(flush))
        {
            try { await FlushAsync(cts.Token).ConfigureAwait(false); } catch (OperationCanceledException) { }
        }
        var bye = _envelopes.New();
        bye.Leaving = new Leaving();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2)))
        {
            try { await _transport.PublishAsync(Topology.Events, FarmWire.Encode(bye), cts.Token).ConfigureAwait(false); }
            catch (Exception e) when (e is not OutOfMemoryException) { }
        }
        await DisposeAsync().ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        Session.StopLoops();
        await _stop.CancelAsync().ConfigureAwait(false);
        foreach (var s in _subscriptions) await s.DisposeAsync().ConfigureAwait(false);
        foreach (var t in new[] { _publisher, _heartbeat })
            if (t is not null)
                try { await t.ConfigureAwait(false); } catch (OperationCanceledException) { }
        _journal?.Dispose();
        _stop.Dispose();
    }
}
