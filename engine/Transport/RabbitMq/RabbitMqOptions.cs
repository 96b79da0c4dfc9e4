namespace Fuzz.Engine.Transport.RabbitMq;

/// <summary>Tuning of a <see cref="RabbitMqTransport"/>; the defaults suit a farm on one network.</summary>
public sealed record RabbitMqOptions
{
    /// <summary>Channels with publisher confirms, shared round-robin by concurrent publishers.</summary>
    public int PublishChannels { get; init; } = 4;

    /// <summary>Records a log reader has in flight (a stream consumer needs a prefetch).</summary>
    public ushort LogPrefetch { get; init; } = 512;

    /// <summary>First wait before reconnecting or reopening a consumer; doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>How soon a silent connection (a node gone without closing its sockets) is given up: about twice this.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A publish not confirmed within this is published again on a fresh channel (a stream whose
    /// leader moved can leave a confirm outstanding forever).
    /// </summary>
    public TimeSpan ConfirmTimeout { get; init; } = TimeSpan.FromSeconds(15);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The client-provided connection name the broker shows and puts in its connection events; a
    /// farm process uses <see cref="ConnectionNames.Of"/>. Default: <c>fuzz &lt;farm&gt; pid &lt;pid&gt;</c>.
    /// </summary>
    public string? ConnectionName { get; init; }

    /// <summary>
    /// Connect to a cluster's listed nodes in a random order each time (spreads a farm's connections
    /// over the cluster); false: to the first listed node that answers.
    /// </summary>
    public bool ShuffleNodes { get; init; } = true;

    /// <summary>Connection losses, reconnections, consumers reopened, handlers that threw.</summary>
    public Action<string>? Log { get; init; }
}
