namespace Fuzz.Engine.Transport.Embedded;

/// <summary>One connection to an <see cref="EmbeddedBroker"/>: what <c>fuzz run</c> uses with no broker configured.</summary>
public sealed class EmbeddedTransport(EmbeddedBroker broker) : ITransport
{
    private readonly List<Subscription> _subscriptions = new();
    private readonly List<string> _replyQueues = new();
    private bool _disposed;

    public string Description => "embedded";
    public long Reconnects => 0;

    public Task ConnectAsync(CancellationToken cancel) => Task.CompletedTask;

    public Task PublishAsync(string queue, ReadOnlyMemory<byte> body, CancellationToken cancel)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (broker.TryQueue(queue, out var q)) q.Enqueue(body.ToArray(), redelivered: false, deliveries: 0);
        return Task.CompletedTask;
    }

    public Task AppendAsync(string log, ReadOnlyMemory<byte> body, CancellationToken cancel)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        broker.Log(log).Append(body.ToArray());
        return Task.CompletedTask;
    }

    public Task<IAsyncDisposable> ConsumeAsync(string queue, int prefetch, Func<IDelivery, Task> handler, CancellationToken cancel)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var q = broker.Queue(queue);
        var c = q.AddConsumer(prefetch, handler);
        return Task.FromResult<IAsyncDisposable>(Track(new Subscription(async () =>
        {
            q.RemoveConsumer(c);
            await c.Completion.ConfigureAwait(false);
        })));
    }

    public Task<IAsyncDisposable> ReadLogAsync(string log, long from, Func<LogRecord, Task> handler, CancellationToken cancel)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var l = broker.Log(log);
        var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            long next = Math.Max(0, from);
            while (!stop.IsCancellationRequested)
            {
                var (records, grew) = l.Read(next, 256);
                if (records.Length == 0)
                {
                    try { await grew.WaitAsync(stop.Token).ConfigureAwait(false); }
                    catch (OperationCanceledException) { return; }
                    continue;
                }
                foreach (var r in records)
                {
                    if (stop.IsCancellationRequested) return;
                    await handler(new LogRecord(next++, r)).ConfigureAwait(false);
                }
            }
        });
        return Task.FromResult<IAsyncDisposable>(Track(new Subscription(async () =>
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try { await reader.ConfigureAwait(false); } catch (OperationCanceledException) { }
            stop.Dispose();
        })));
    }

    /// <summary>In one process nothing's connection closes on its own: the farm has heartbeats and goodbyes only.</summary>
    public Task<IAsyncDisposable> WatchConnectionsAsync(Func<ConnectionEvent, Task> handler, CancellationToken cancel)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Task.FromResult<IAsyncDisposable>(new Subscription(() => Task.CompletedTask));
    }

    public Task<string> CreateReplyQueueAsync(CancellationToken cancel)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string name = broker.CreateQueue($"fuzz.reply.{Guid.NewGuid():N}");
        lock (_replyQueues) _replyQueues.Add(name);
        return Task.FromResult(name);
    }

    public Task<long> CountAsync(string queue, CancellationToken cancel) =>
        Task.FromResult(broker.TryQueue(queue, out var q) ? q.Ready : 0L);

    public async ValueTask DisposeAsync()
    {
        if (_disposed) return;
        _disposed = true;
        Subscription[] subs;
        lock (_subscriptions) subs = _subscriptions.ToArray();
        foreach (var s in subs) await s.DisposeAsync().ConfigureAwait(false);
        lock (_replyQueues)
            foreach (var q in _replyQueues) broker.DeleteQueue(q);
    }

    private Subscription Track(Subscription s)
    {
        lock (_subscriptions) _subscriptions.Add(s);
        return s;
    }

    private sealed class Subscription(Func<Task> close) : IAsyncDisposable
    {
        private int _closed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0) await close().ConfigureAwait(false);
        }
    }
}
