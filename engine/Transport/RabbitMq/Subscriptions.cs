using System.Threading.Channels;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Fuzz.Engine.Transport.RabbitMq;

/// <summary>
/// A consumer that outlives its channel: it is reopened on the next connection, or on this one
/// when the broker closed its channel or cancelled it. Deliveries go through an inbox to one
/// dispatch task, so the handler runs one at a time and never blocks the connection.
/// </summary>
internal abstract class Subscription(RabbitMqTransport transport, string queue, ushort prefetch) : IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Consumer? _consumer;
    private int _closed;

    protected RabbitMqTransport Transport => transport;

    protected string Queue => queue;

    internal string QueueName => queue;

    protected bool Closed => Volatile.Read(ref _closed) != 0;

    /// <summary>Consumer arguments for a channel opened now.</summary>
    protected abstract IDictionary<string, object?>? Arguments();

    /// <summary>Called by the client for each delivery; the body is only valid during the call.</summary>
    protected abstract void Received(IChannel channel, ulong tag, bool redelivered, string routingKey, IReadOnlyBasicProperties props, ReadOnlyMemory<byte> body);

    /// <summary>Declares what the consumer needs on the fresh channel; false: nothing to consume (the channel is closed).</summary>
    protected virtual Task<bool> PrepareAsync(IChannel channel, CancellationToken cancel) => Task.FromResult(true);

    /// <summary>Stops handing deliveries over and waits for the handler to return.</summary>
    protected abstract Task DrainAsync();

    /// <summary>Consumes on <paramref name="link"/> unless already consuming on it (or a later one).</summary>
    internal async Task OpenAsync(RabbitMqTransport.Link link, CancellationToken cancel)
    {
        await _gate.WaitAsync(cancel).ConfigureAwait(false);
        try
        {
            if (Closed || link.IsLost) return;
            if (_consumer is { Live: true } c && c.Link.Generation >= link.Generation) return;
            if (_consumer is not null) await RabbitMqTransport.CloseQuietlyAsync(_consumer.Channel).ConfigureAwait(false);
            _consumer = null;
            var ch = await link.Connection.CreateChannelAsync(cancellationToken: cancel).ConfigureAwait(false);
            try
            {
                if (!await PrepareAsync(ch, cancel).ConfigureAwait(false))
                {
                    await RabbitMqTransport.CloseQuietlyAsync(ch).ConfigureAwait(false);
                    return;
                }
                await ch.BasicQosAsync(0, prefetch, global: false, cancel).ConfigureAwait(false);
                var consumer = new Consumer(this, link, ch);
                await ch.BasicConsumeAsync(queue, autoAck: false, consumerTag: string.Empty, noLocal: false, exclusive: false,
                    Arguments(), consumer, cancel).ConfigureAwait(false);
                _consumer = consumer;
                consumer.Registered();
            }
            catch
            {
                await RabbitMqTransport.CloseQuietlyAsync(ch).ConfigureAwait(false);
                throw;
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Reopens in the background, retrying while <paramref name="link"/> lasts.</summary>
    internal void Resume(RabbitMqTransport.Link link) => _ = Task.Run(() => ResumeAsync(link));

    private async Task ResumeAsync(RabbitMqTransport.Link link)
    {
        var delay = transport.Options.RetryDelay;
        while (!Closed && !link.IsLost)
        {
            try
            {
                await OpenAsync(link, transport.Stopping).ConfigureAwait(false);
                return;
            }
            catch (Exception e) when (!Closed && !link.IsLost)
            {
                transport.Log($"reopening the consumer of {queue}: {e.GetType().Name}: {e.Message}");
            }
            catch (Exception)
            {
                return;
            }
            try
            {
                await Task.Delay(delay, transport.Stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            delay = transport.NextDelay(delay);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0) return;
        transport.Forget(this);
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_consumer is not null) await RabbitMqTransport.CloseQuietlyAsync(_consumer.Channel).ConfigureAwait(false);
            _consumer = null;
        }
        finally
        {
            _gate.Release();
        }
        await DrainAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Asks for a reopen when the broker cancels it or closes its channel, once it is the
    /// subscription's consumer: one whose consume failed leaves the retrying to its opener.
    /// </summary>
    private sealed class Consumer(Subscription owner, RabbitMqTransport.Link link, IChannel ch) : AsyncDefaultBasicConsumer(ch)
    {
        private volatile bool _cancelled;
        private volatile bool _registered;

        public RabbitMqTransport.Link Link => link;

        public bool Live => !_cancelled && Channel.IsOpen;

        public void Registered()
        {
            _registered = true;
            if (!Live) owner.Resume(link);
        }

        public override Task HandleBasicDeliverAsync(string consumerTag, ulong deliveryTag, bool redelivered, string exchange, string routingKey,
            IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body, CancellationToken cancellationToken = default)
        {
            owner.Received(Channel, deliveryTag, redelivered, routingKey, properties, body);
            return Task.CompletedTask;
        }

        /// <summary>The broker cancelled it (its queue was deleted, or a stream replica went away).</summary>
        public override Task HandleBasicCancelAsync(string consumerTag, CancellationToken cancellationToken = default)
        {
            _cancelled = true;
            if (_registered)
            {
                owner.Transport.Log($"the broker cancelled the consumer of {owner.Queue}");
                owner.Resume(link);
            }
            return base.HandleBasicCancelAsync(consumerTag, cancellationToken);
        }

        public override Task HandleChannelShutdownAsync(object channel, ShutdownEventArgs reason)
        {
            if (_registered && reason.Initiator != ShutdownInitiator.Application && !link.IsLost && !owner.Closed)
            {
                owner.Transport.Log($"channel of the consumer of {owner.Queue} closed: {reason.ReplyCode} {reason.ReplyText}");
                owner.Resume(link);
            }
            return base.HandleChannelShutdownAsync(channel, reason);
        }
    }
}

internal sealed class QueueSubscription : Subscription
{
    private readonly Func<IDelivery, Task> _handler;
    private readonly Channel<RabbitDelivery> _inbox = Channel.CreateUnbounded<RabbitDelivery>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _dispatch;

    public QueueSubscription(RabbitMqTransport transport, string queue, ushort prefetch, Func<IDelivery, Task> handler)
        : base(transport, queue, prefetch)
    {
        _handler = handler;
        _dispatch = Task.Run(DispatchAsync);
    }

    protected override IDictionary<string, object?>? Arguments() => null;

    protected override void Received(IChannel channel, ulong tag, bool redelivered, string routingKey, IReadOnlyBasicProperties props, ReadOnlyMemory<byte> body) =>
        _inbox.Writer.TryWrite(new RabbitDelivery(channel, tag, redelivered, body.ToArray()));

    protected override async Task DrainAsync()
    {
        _inbox.Writer.TryComplete();
        await _dispatch.ConfigureAwait(false);
    }

    private async Task DispatchAsync()
    {
        await foreach (var d in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            // A delivery of a closed channel is back in its queue, to be delivered again.
            if (Closed || !d.Channel.IsOpen) continue;
            try
            {
                await _handler(d).ConfigureAwait(false);
            }
            catch (Exception e)
            {
                Transport.Log($"handler of {Queue} threw (the delivery stays unacked): {e}");
            }
        }
    }
}

internal sealed class LogSubscription : Subscription
{
    private readonly Func<LogRecord, Task> _handler;
    private readonly Channel<Record> _inbox = Channel.CreateUnbounded<Record>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _dispatch;
    private long _next;

    private readonly record struct Record(IChannel Channel, ulong Tag, long? Offset, byte[] Body);

    public LogSubscription(RabbitMqTransport transport, string stream, long from, Func<LogRecord, Task> handler)
        : base(transport, stream, transport.Options.LogPrefetch)
    {
        _handler = handler;
        _next = from;
        _dispatch = Task.Run(DispatchAsync);
    }

    /// <summary>A reopened consumer starts after the last record handed over, not at the original offset.</summary>
    protected override IDictionary<string, object?>? Arguments() => RabbitMqTransport.StreamArguments(Volatile.Read(ref _next));

    protected override void Received(IChannel channel, ulong tag, bool redelivered, string routingKey, IReadOnlyBasicProperties props, ReadOnlyMemory<byte> body) =>
        _inbox.Writer.TryWrite(new Record(channel, tag, RabbitMqTransport.OffsetOf(props), body.ToArray()));

    protected override async Task DrainAsync()
    {
        _inbox.Writer.TryComplete();
        await _dispatch.ConfigureAwait(false);
    }

    /// <summary>
    /// Hands records over in offset order, each once: a stream consumer starts at the beginning of
    /// the chunk holding the requested offset, and a reopened one repeats what the inbox still
    /// holds from the previous channel, so anything below the next offset is skipped.
    /// </summary>
    private async Task DispatchAsync()
    {
        await foreach (var r in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (Closed) continue;
            if (r.Offset is not { } offset)
                Transport.Log($"a record of {Queue} without an x-stream-offset header, skipped");
            else if (offset >= Volatile.Read(ref _next))
            {
                try
                {
                    await _handler(new LogRecord(offset, r.Body)).ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    Transport.Log($"log handler of {Queue} threw at offset {offset}: {e}");
                }
                Volatile.Write(ref _next, offset + 1);
            }
            await RabbitDelivery.SettleAsync(r.Channel, r.Tag, ack: true).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// The broker's connection.created / connection.closed events (the rabbitmq_event_exchange plugin's
/// amq.rabbitmq.event exchange) through an exclusive queue of this connection, declared and bound
/// again on every connection. Without the plugin it logs once and hands nothing over.
/// </summary>
internal sealed class ConnectionEventSubscription : Subscription
{
    internal const string Exchange = "amq.rabbitmq.event";
    internal static readonly string[] RoutingKeys = ["connection.created", "connection.closed"];

    private readonly Func<ConnectionEvent, Task> _handler;
    private readonly Channel<Record> _inbox = Channel.CreateUnbounded<Record>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _dispatch;
    private int _unavailable;

    private readonly record struct Record(IChannel Channel, ulong Tag, ConnectionEvent? Event);

    public ConnectionEventSubscription(RabbitMqTransport transport, string queue, Func<ConnectionEvent, Task> handler)
        : base(transport, queue, 256)
    {
        _handler = handler;
        _dispatch = Task.Run(DispatchAsync);
    }

    protected override IDictionary<string, object?>? Arguments() => null;

    protected override async Task<bool> PrepareAsync(IChannel channel, CancellationToken cancel)
    {
        try
        {
            await channel.QueueDeclareAsync(Queue, durable: false, exclusive: true, autoDelete: false,
                new Dictionary<string, object?> { ["x-max-length"] = 100_000 }, cancellationToken: cancel).ConfigureAwait(false);
            foreach (var key in RoutingKeys)
                await channel.QueueBindAsync(Queue, Exchange, key, cancellationToken: cancel).ConfigureAwait(false);
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.NotFound)
        {
            if (Interlocked.Exchange(ref _unavailable, 1) == 0)
                Transport.Log($"no {Exchange} exchange on the broker (plugin rabbitmq_event_exchange not enabled): no connection events");
            return false;
        }
    }

    protected override void Received(IChannel channel, ulong tag, bool redelivered, string routingKey, IReadOnlyBasicProperties props, ReadOnlyMemory<byte> body) =>
        _inbox.Writer.TryWrite(new Record(channel, tag, RabbitMqConnectionEvents.Parse(routingKey, props.Headers, Transport.Farm)));

    protected override async Task DrainAsync()
    {
        _inbox.Writer.TryComplete();
        await _dispatch.ConfigureAwait(false);
    }

    private async Task DispatchAsync()
    {
        await foreach (var r in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            if (!Closed && r.Event is { } e)
            {
                try
                {
                    await _handler(e).ConfigureAwait(false);
                }
                catch (Exception ex)
                {
                    Transport.Log($"connection event handler threw on {e}: {ex}");
                }
            }
            await RabbitDelivery.SettleAsync(r.Channel, r.Tag, ack: true).ConfigureAwait(false);
        }
    }
}

internal sealed class RabbitDelivery(IChannel channel, ulong tag, bool redelivered, byte[] body) : IDelivery
{
    private int _settled;

    public IChannel Channel => channel;

    public ReadOnlyMemory<byte> Body => body;

    public bool Redelivered => redelivered;

    public Task AckAsync() => Interlocked.Exchange(ref _settled, 1) == 0 ? SettleAsync(channel, tag, ack: true) : Task.CompletedTask;

    /// <summary>A reject without requeue: the queue's dead-letter exchange routes it to the dead letters.</summary>
    public Task DeadLetterAsync() => Interlocked.Exchange(ref _settled, 1) == 0 ? SettleAsync(channel, tag, ack: false) : Task.CompletedTask;

    /// <summary>A no-op once the channel is closed: the broker has the delivery back.</summary>
    internal static async Task SettleAsync(IChannel channel, ulong tag, bool ack)
    {
        if (!channel.IsOpen) return;
        try
        {
            if (ack) await channel.BasicAckAsync(tag, multiple: false).ConfigureAwait(false);
            else await channel.BasicRejectAsync(tag, requeue: false).ConfigureAwait(false);
        }
        catch (Exception) when (!channel.IsOpen)
        {
        }
    }
}
