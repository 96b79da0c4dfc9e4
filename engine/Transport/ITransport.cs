namespace Fuzz.Engine.Transport;

/// <summary>The queues and logs of the farm, the same names on every transport.</summary>
public static class Topology
{
    /// <summary>Worker events (new inputs, crashes, heartbeats, task results) to the one active coordinator.</summary>
    public const string Events = "fuzz.events";

    /// <summary>Replay and minimisation tasks; competing workers, redelivered when a worker dies.</summary>
    public const string Tasks = "fuzz.tasks";

    /// <summary>Append-only log of accepted inputs: the merged corpus, replayable from the start.</summary>
    public const string Corpus = "fuzz.corpus";

    /// <summary>Append-only log of filed crashes.</summary>
    public const string Crashes = "fuzz.crashes";

    /// <summary>Where rejected messages go (malformed, wrong version, over the delivery limit).</summary>
    public const string DeadLetters = "fuzz.dead";

    /// <summary>A task is dead-lettered after this many deliveries (a task that kills every worker).</summary>
    public const int TaskDeliveryLimit = 5;

    public static readonly IReadOnlyList<string> Queues = [Events, Tasks];
    public static readonly IReadOnlyList<string> Logs = [Corpus, Crashes];
}

/// <summary>One message handed to a queue consumer; it stays with that consumer until acked or dead-lettered.</summary>
public interface IDelivery
{
    ReadOnlyMemory<byte> Body { get; }

    /// <summary>The message was delivered before to a consumer that went away without acking it.</summary>
    bool Redelivered { get; }

    /// <summary>Done with: the queue forgets it. May be called from any thread.</summary>
    Task AckAsync();

    /// <summary>Rejected for good: moved to <see cref="Topology.DeadLetters"/>.</summary>
    Task DeadLetterAsync();
}

/// <summary>One record of a log and its position (the offset to resume after).</summary>
public readonly record struct LogRecord(long Offset, ReadOnlyMemory<byte> Body);

/// <summary>
/// What the farm's processes need from a message broker: durable queues with manual acks
/// (<see cref="Topology.Events"/> with a single active consumer, <see cref="Topology.Tasks"/> with
/// competing consumers and a delivery limit), append-only logs every reader reads whole, temporary
/// reply queues, and a dead-letter queue. Publishing completes once the broker has the message.
/// A transport instance is one connection: disposing it is what a process dying looks like to the
/// others (its unacked deliveries go back to their queue).
/// </summary>
public interface ITransport : IAsyncDisposable
{
    /// <summary>What it is connected to, without credentials.</summary>
    string Description { get; }

    /// <summary>Connects and declares the topology (idempotent).</summary>
    Task ConnectAsync(CancellationToken cancel);

    Task PublishAsync(string queue, ReadOnlyMemory<byte> body, CancellationToken cancel);

    Task AppendAsync(string log, ReadOnlyMemory<byte> body, CancellationToken cancel);

    /// <summary>
    /// Consumes <paramref name="queue"/>, at most <paramref name="prefetch"/> unacked deliveries at a
    /// time. The handler is called for one delivery at a time, in order; it acks later or at once.
    /// </summary>
    Task<IAsyncDisposable> ConsumeAsync(string queue, int prefetch, Func<IDelivery, Task> handler, CancellationToken cancel);

    /// <summary>Reads <paramref name="log"/> from offset <paramref name="from"/> (0 = the start), then follows it.</summary>
    Task<IAsyncDisposable> ReadLogAsync(string log, long from, Func<LogRecord, Task> handler, CancellationToken cancel);

    /// <summary>A queue that lives as long as this connection, for task results.</summary>
    Task<string> CreateReplyQueueAsync(CancellationToken cancel);

    /// <summary>Messages waiting in a queue (ready, not delivered).</summary>
    Task<long> CountAsync(string queue, CancellationToken cancel);

    /// <summary>
    /// Follows the broker's events about this farm's connections (see <see cref="ConnectionNames"/>):
    /// opened, closed, and events it could not read. A transport whose broker has no such events
    /// (the embedded one; a RabbitMQ without the event exchange plugin) never calls the handler.
    /// </summary>
    Task<IAsyncDisposable> WatchConnectionsAsync(Func<ConnectionEvent, Task> handler, CancellationToken cancel);

    /// <summary>Connection losses this transport recovered from.</summary>
    long Reconnects { get; }
}
