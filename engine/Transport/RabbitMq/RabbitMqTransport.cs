using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Fuzz.Engine.Transport.RabbitMq;

/// <summary>
/// The farm's topology on a RabbitMQ 3.10+ broker or cluster (AMQP 0-9-1): the events and tasks
/// queues are quorum queues (single active consumer; delivery limit), the logs are streams, the
/// dead letters a quorum queue behind a fanout exchange. Every name is prefixed with the farm
/// (<c>fuzz.{farm}.events</c>), so farms share a broker. One instance is one connection; when it
/// drops, publishers wait and retry, consumers and log readers are reopened on the next one.
/// </summary>
public sealed class RabbitMqTransport : ITransport
{
    private const string StreamOffset = "x-stream-offset";

    private readonly RabbitMqOptions _options;
    private readonly ConnectionFactory _factory;
    private readonly AmqpTcpEndpoint[] _endpoints;
    private readonly string _prefix;
    private readonly string _deadLetterExchange;
    private readonly Lock _lock = new();
    private readonly List<Subscription> _subscriptions = new();
    private readonly List<string> _replyQueues = new();
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private TaskCompletionSource<Link> _ready = NewReady();
    private Link? _link;
    private Task? _supervisor;
    private long _generations;
    private long _reconnects;
    private bool _disposed;

    public RabbitMqTransport(Uri amqpUri, string farm = "default", RabbitMqOptions? options = null)
        : this(amqpUri.OriginalString, farm, options)
    {
    }

    /// <param name="amqpUris">One URI, or a comma-separated list of a cluster's nodes (the credentials of the first are used).</param>
    public RabbitMqTransport(string amqpUris, string farm = "default", RabbitMqOptions? options = null)
    {
        var uris = amqpUris.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(u => new Uri(u, UriKind.Absolute)).ToArray();
        if (uris.Length == 0) throw new ArgumentException("no broker URI", nameof(amqpUris));
        if (farm.Length == 0 || !farm.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new ArgumentException($"farm '{farm}' must be letters, digits, '-' or '_'", nameof(farm));
        _options = options ?? new RabbitMqOptions();
        Farm = farm;
        _prefix = $"fuzz.{farm}.";
        _deadLetterExchange = _prefix + "dead-letter";
        _factory = new ConnectionFactory
        {
            Uri = uris[0],
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedHeartbeat = _options.Heartbeat,
            RequestedConnectionTimeout = _options.ConnectTimeout,
            ClientProvidedName = _options.ConnectionName ?? $"fuzz {farm} pid {Environment.ProcessId}",
        };
        _endpoints = uris.Select(u => new AmqpTcpEndpoint(u)).ToArray();
        Description = $"{string.Join(',', uris.Select(u => $"{u.Scheme}://{u.Authority}{u.AbsolutePath}"))} farm {farm}";
    }

    public string Farm { get; }

    public string Description { get; }

    public long Reconnects => Interlocked.Read(ref _reconnects);

    internal RabbitMqOptions Options => _options;

    internal CancellationToken Stopping => _stopping.Token;

    /// <summary>The node this transport is connected to now, if it is.</summary>
    internal AmqpTcpEndpoint? ConnectedTo
    {
        get { lock (_lock) return _link?.Connection.Endpoint; }
    }

    /// <summary>The queues this connection's connection events arrive on.</summary>
    internal IReadOnlyList<string> ConnectionEventQueues
    {
        get { lock (_lock) return _subscriptions.OfType<ConnectionEventSubscription>().Select(s => s.QueueName).ToList(); }
    }

    /// <summary>The broker's name for a logical queue or log name of <see cref="Topology"/>.</summary>
    public string PhysicalName(string name) => _prefix + (name.StartsWith("fuzz.", StringComparison.Ordinal) ? name["fuzz.".Length..] : name);

    public async Task ConnectAsync(CancellationToken cancel)
    {
        await _connecting.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_supervisor is not null) return;
            var link = await OpenLinkAsync(cancel).ConfigureAwait(false);
            if (!Install(link))
            {
                await link.CloseAsync().ConfigureAwait(false);
                throw new ObjectDisposedException(GetType().FullName);
            }
            _supervisor = Task.Run(() => SuperviseAsync(link));
        }
        finally
        {
            _connecting.Release();
        }
    }

    public Task PublishAsync(string queue, ReadOnlyMemory<byte> body, CancellationToken cancel) => SendAsync(PhysicalName(queue), body, cancel);

    public Task AppendAsync(string log, ReadOnlyMemory<byte> body, CancellationToken cancel) => SendAsync(PhysicalName(log), body, cancel);

    public async Task<IAsyncDisposable> ConsumeAsync(string queue, int prefetch, Func<IDelivery, Task> handler, CancellationToken cancel)
    {
        var sub = new QueueSubscription(this, PhysicalName(queue), (ushort)Math.Clamp(prefetch, 1, ushort.MaxValue), handler);
        await StartAsync(sub, cancel).ConfigureAwait(false);
        return sub;
    }

    public async Task<IAsyncDisposable> ReadLogAsync(string log, long from, Func<LogRecord, Task> handler, CancellationToken cancel)
    {
        var sub = new LogSubscription(this, PhysicalName(log), Math.Max(0, from), handler);
        await StartAsync(sub, cancel).ConfigureAwait(false);
        return sub;
    }

    public async Task<IAsyncDisposable> WatchConnectionsAsync(Func<ConnectionEvent, Task> handler, CancellationToken cancel)
    {
        var sub = new ConnectionEventSubscription(this, PhysicalName($"fuzz.connections.{Guid.NewGuid():N}"), handler);
        await StartAsync(sub, cancel).ConfigureAwait(false);
        return sub;
    }

    /// <summary>
    /// An exclusive queue: the broker deletes it when this connection closes. It is declared again
    /// (empty) after a reconnection. Not auto-delete, which would delete it when its consumer's
    /// channel is reopened.
    /// </summary>
    public async Task<string> CreateReplyQueueAsync(CancellationToken cancel)
    {
        string name = $"fuzz.reply.{Guid.NewGuid():N}";
        string physical = PhysicalName(name);
        lock (_lock) _replyQueues.Add(physical);
        try
        {
            await WithChannelAsync(async ch =>
            {
                await DeclareReplyQueueAsync(ch, physical, cancel).ConfigureAwait(false);
                return 0;
            }, cancel).ConfigureAwait(false);
        }
        catch
        {
            lock (_lock) _replyQueues.Remove(physical);
            throw;
        }
        return name;
    }

    public Task<long> CountAsync(string queue, CancellationToken cancel)
    {
        string physical = PhysicalName(queue);
        return WithChannelAsync(async ch =>
        {
            try
            {
                return (long)(await ch.QueueDeclarePassiveAsync(physical, cancel).ConfigureAwait(false)).MessageCount;
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.NotFound)
            {
                return 0L;
            }
        }, cancel);
    }

    /// <summary>Deletes the farm's queues, logs (with everything in them) and exchange, and this connection's reply queues.</summary>
    public Task DeleteTopologyAsync(CancellationToken cancel)
    {
        string[] replies;
        lock (_lock) replies = _replyQueues.ToArray();
        return WithChannelAsync(async ch =>
        {
            foreach (var q in Topology.Queues.Concat(Topology.Logs).Append(Topology.DeadLetters).Select(PhysicalName).Concat(replies))
                await ch.QueueDeleteAsync(q, ifUnused: false, ifEmpty: false, cancellationToken: cancel).ConfigureAwait(false);
            await ch.ExchangeDeleteAsync(_deadLetterExchange, cancellationToken: cancel).ConfigureAwait(false);
            return 0;
        }, cancel);
    }

    public async ValueTask DisposeAsync()
    {
        Link? link;
        Subscription[] subs;
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            link = _link;
            _link = null;
            _ready.TrySetException(new ObjectDisposedException(GetType().FullName));
            _ = _ready.Task.Exception;
            subs = _subscriptions.ToArray();
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (link is not null) await link.CloseAsync().ConfigureAwait(false);
        foreach (var s in subs) await s.DisposeAsync().ConfigureAwait(false);
        if (_supervisor is not null) await _supervisor.ConfigureAwait(false);
    }

    internal void Log(string message) => _options.Log?.Invoke($"rabbitmq farm {Farm}: {message}");

    internal void Forget(Subscription sub)
    {
        lock (_lock) _subscriptions.Remove(sub);
    }

    internal TimeSpan NextDelay(TimeSpan delay) => TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));

    /// <summary>The current connection, waiting for one while disconnected.</summary>
    private Task<Link> LinkAsync(CancellationToken cancel)
    {
        Task<Link> ready;
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_supervisor is null && _link is null) throw new InvalidOperationException("ConnectAsync first");
            ready = _ready.Task;
        }
        return ready.WaitAsync(cancel);
    }

    /// <summary>
    /// Publishes with a confirm, again on the next connection if this one drops or the broker
    /// refuses: a publish that returned is on the broker (maybe twice, after a reconnection).
    /// </summary>
    private async Task SendAsync(string routingKey, ReadOnlyMemory<byte> body, CancellationToken cancel)
    {
        var delay = _options.RetryDelay;
        while (true)
        {
            var link = await LinkAsync(cancel).ConfigureAwait(false);
            IChannel? ch = null;
            using var unconfirmed = CancellationTokenSource.CreateLinkedTokenSource(cancel);
            unconfirmed.CancelAfter(_options.ConfirmTimeout);
            try
            {
                ch = await link.PublisherAsync(unconfirmed.Token).ConfigureAwait(false);
                // A fresh properties object each time: with confirmation tracking the client writes a sequence-number header into it.
                await ch.BasicPublishAsync(string.Empty, routingKey, mandatory: false, new BasicProperties { Persistent = true }, body, unconfirmed.Token).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (unconfirmed.IsCancellationRequested && !cancel.IsCancellationRequested && !_stopping.IsCancellationRequested)
            {
                Log($"no confirm from {routingKey} within {_options.ConfirmTimeout.TotalSeconds} s, publishing again on a fresh channel");
                if (ch is not null) await CloseQuietlyAsync(ch).ConfigureAwait(false);
            }
            catch (Exception) when (!cancel.IsCancellationRequested && !_stopping.IsCancellationRequested)
            {
                await Task.WhenAny(link.Lost, Task.Delay(delay, cancel)).ConfigureAwait(false);
                delay = NextDelay(delay);
            }
        }
    }

    /// <summary>Runs <paramref name="op"/> on a channel of its own, again on the next connection if this one drops.</summary>
    private async Task<T> WithChannelAsync<T>(Func<IChannel, Task<T>> op, CancellationToken cancel)
    {
        while (true)
        {
            var link = await LinkAsync(cancel).ConfigureAwait(false);
            try
            {
                var ch = await link.Connection.CreateChannelAsync(cancellationToken: cancel).ConfigureAwait(false);
                await using (ch.ConfigureAwait(false))
                    return await op(ch).ConfigureAwait(false);
            }
            catch (Exception) when (link.IsLost && !cancel.IsCancellationRequested && !_stopping.IsCancellationRequested)
            {
                await Task.WhenAny(link.Lost, Task.Delay(_options.RetryDelay, cancel)).ConfigureAwait(false);
            }
        }
    }

    private async Task StartAsync(Subscription sub, CancellationToken cancel)
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _subscriptions.Add(sub);
        }
        try
        {
            var link = await LinkAsync(cancel).ConfigureAwait(false);
            try
            {
                await sub.OpenAsync(link, cancel).ConfigureAwait(false);
            }
            catch (Exception) when (link.IsLost && !cancel.IsCancellationRequested)
            {
                // The supervisor reopens it on the next connection.
            }
        }
        catch
        {
            await sub.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<Link> OpenLinkAsync(CancellationToken cancel)
    {
        var conn = _options.ShuffleNodes
            ? await _factory.CreateConnectionAsync(_endpoints, cancel).ConfigureAwait(false)
            : await _factory.CreateConnectionAsync(new ListedOrder(_endpoints), _factory.ClientProvidedName, cancel).ConfigureAwait(false);
        var link = new Link(this, conn, Interlocked.Increment(ref _generations));
        conn.ConnectionShutdownAsync += (_, e) =>
        {
            OnLost(link, e);
            return Task.CompletedTask;
        };
        try
        {
            var ch = await conn.CreateChannelAsync(cancellationToken: cancel).ConfigureAwait(false);
            await using (ch.ConfigureAwait(false))
                await DeclareTopologyAsync(ch, cancel).ConfigureAwait(false);
            if (!conn.IsOpen) link.MarkLost();
            return link;
        }
        catch
        {
            await link.CloseAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task DeclareTopologyAsync(IChannel ch, CancellationToken cancel)
    {
        var dead = PhysicalName(Topology.DeadLetters);
        await ch.ExchangeDeclareAsync(_deadLetterExchange, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: cancel).ConfigureAwait(false);
        await DeclareDurableAsync(ch, dead, new() { ["x-queue-type"] = "quorum" }, cancel).ConfigureAwait(false);
        await ch.QueueBindAsync(dead, _deadLetterExchange, string.Empty, cancellationToken: cancel).ConfigureAwait(false);
        await DeclareDurableAsync(ch, PhysicalName(Topology.Events), new()
        {
            ["x-queue-type"] = "quorum",
            ["x-single-active-consumer"] = true,
            ["x-dead-letter-exchange"] = _deadLetterExchange,
        }, cancel).ConfigureAwait(false);
        await DeclareDurableAsync(ch, PhysicalName(Topology.Tasks), new()
        {
            ["x-queue-type"] = "quorum",
            ["x-delivery-limit"] = Topology.TaskDeliveryLimit,
            ["x-dead-letter-exchange"] = _deadLetterExchange,
        }, cancel).ConfigureAwait(false);
        foreach (var log in Topology.Logs)
            await DeclareDurableAsync(ch, PhysicalName(log), new() { ["x-queue-type"] = "stream" }, cancel).ConfigureAwait(false);
        string[] replies;
        lock (_lock) replies = _replyQueues.ToArray();
        foreach (var q in replies) await DeclareReplyQueueAsync(ch, q, cancel).ConfigureAwait(false);
    }

    private static Task DeclareDurableAsync(IChannel ch, string name, Dictionary<string, object?> args, CancellationToken cancel) =>
        ch.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false, args, cancellationToken: cancel);

    private static Task DeclareReplyQueueAsync(IChannel ch, string name, CancellationToken cancel) =>
        ch.QueueDeclareAsync(name, durable: false, exclusive: true, autoDelete: false, cancellationToken: cancel);

    /// <summary>Makes <paramref name="link"/> the one publishers and new subscriptions use, unless it is already gone.</summary>
    private bool Install(Link link)
    {
        lock (_lock)
        {
            if (_disposed) return false;
            if (link.IsLost) return true;
            _link = link;
            _ready.TrySetResult(link);
            return true;
        }
    }

    private void OnLost(Link link, ShutdownEventArgs e)
    {
        lock (_lock)
        {
            if (_link == link)
            {
                _link = null;
                if (_ready.Task.IsCompleted && !_disposed) _ready = NewReady();
            }
            link.MarkLost();
            if (_disposed) return;
        }
        Log($"connection to {link.Connection.Endpoint} lost: {e.ReplyCode} {e.ReplyText}");
    }

    private async Task SuperviseAsync(Link link)
    {
        while (true)
        {
            try
            {
                await link.Lost.WaitAsync(_stopping.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await link.CloseAsync().ConfigureAwait(false);
            var next = await ReconnectAsync().ConfigureAwait(false);
            if (next is null) return;
            link = next;
        }
    }

    private async Task<Link?> ReconnectAsync()
    {
        var delay = _options.RetryDelay;
        while (true)
        {
            try
            {
                // Jittered, so that a farm's processes do not all reconnect at the same instant.
                await Task.Delay(delay * (0.75 + Random.Shared.NextDouble() / 2), _stopping.Token).ConfigureAwait(false);
                var link = await OpenLinkAsync(_stopping.Token).ConfigureAwait(false);
                if (!Install(link))
                {
                    await link.CloseAsync().ConfigureAwait(false);
                    return null;
                }
                Interlocked.Increment(ref _reconnects);
                Log($"reconnected to {link.Connection.Endpoint}");
                Subscription[] subs;
                lock (_lock) subs = _subscriptions.ToArray();
                foreach (var s in subs) s.Resume(link);
                return link;
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
                return null;
            }
            catch (Exception e)
            {
                Log($"reconnecting: {e.GetType().Name}: {e.Message}");
                delay = NextDelay(delay);
            }
        }
    }

    private static TaskCompletionSource<Link> NewReady() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class ListedOrder(IReadOnlyList<AmqpTcpEndpoint> endpoints) : IEndpointResolver
    {
        public IEnumerable<AmqpTcpEndpoint> All() => endpoints;
    }

    /// <summary>One connection and its publishing channels.</summary>
    internal sealed class Link(RabbitMqTransport owner, IConnection connection, long generation)
    {
        private readonly IChannel?[] _publishers = new IChannel?[Math.Max(1, owner._options.PublishChannels)];
        private readonly SemaphoreSlim _opening = new(1, 1);
        private readonly TaskCompletionSource _lost = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _next;

        public IConnection Connection => connection;

        /// <summary>Later connections have higher generations.</summary>
        public long Generation => generation;

        /// <summary>Completes when the connection has closed.</summary>
        public Task Lost => _lost.Task;

        public bool IsLost => _lost.Task.IsCompleted || !connection.IsOpen;

        public void MarkLost() => _lost.TrySetResult();

        /// <summary>A publishing channel, round-robin; one closed by a channel error is replaced.</summary>
        public async ValueTask<IChannel> PublisherAsync(CancellationToken cancel)
        {
            int i = (int)((uint)Interlocked.Increment(ref _next) % (uint)_publishers.Length);
            var ch = Volatile.Read(ref _publishers[i]);
            if (ch is { IsOpen: true }) return ch;
            await _opening.WaitAsync(cancel).ConfigureAwait(false);
            try
            {
                ch = _publishers[i];
                if (ch is { IsOpen: true }) return ch;
                if (ch is not null) await CloseQuietlyAsync(ch).ConfigureAwait(false);
                ch = await connection.CreateChannelAsync(
                    new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancel).ConfigureAwait(false);
                Volatile.Write(ref _publishers[i], ch);
                return ch;
            }
            finally
            {
                _opening.Release();
            }
        }

        public async Task CloseAsync()
        {
            MarkLost();
            try
            {
                await connection.CloseAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Already closed or unreachable: either way it is gone.
            }
            connection.Dispose();
        }
    }

    /// <summary>
    /// Closes without disposing: other tasks may still be publishing or acking on it, and disposing
    /// a channel in use fails its connection (the client's reader hits a disposed semaphore).
    /// </summary>
    internal static async Task CloseQuietlyAsync(IChannel ch)
    {
        try
        {
            if (ch.IsOpen) await ch.CloseAsync().ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Closing a channel whose connection is gone.
        }
    }

    internal static long? OffsetOf(IReadOnlyBasicProperties props) =>
        props.Headers is { } h && h.TryGetValue(StreamOffset, out var v) ? v switch
        {
            long l => l,
            int i => i,
            ulong u => (long)u,
            _ => null,
        } : null;

    internal static Dictionary<string, object?> StreamArguments(long from) => new() { [StreamOffset] = from };
}
