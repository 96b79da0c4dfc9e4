using System.Threading.Channels;

namespace Fuzz.Engine.Transport.Embedded;

/// <summary>
/// The in-process broker behind <see cref="EmbeddedTransport"/>: the farm's queues and logs in
/// memory, with the semantics the RabbitMQ topology has (manual acks, redelivery of what a closed
/// connection left unacked, a single active consumer on the events queue, a delivery limit on
/// tasks, dead-lettering).
/// </summary>
public sealed class EmbeddedBroker
{
    private readonly Dictionary<string, MemQueue> _queues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, MemLog> _logs = new(StringComparer.Ordinal);

    public EmbeddedBroker()
    {
        _queues[Topology.Events] = new MemQueue(this, Topology.Events, singleActive: true, deliveryLimit: null);
        _queues[Topology.Tasks] = new MemQueue(this, Topology.Tasks, singleActive: false, deliveryLimit: Topology.TaskDeliveryLimit);
        _queues[Topology.DeadLetters] = new MemQueue(this, Topology.DeadLetters, singleActive: false, deliveryLimit: null);
        foreach (var l in Topology.Logs) _logs[l] = new MemLog();
    }

    internal MemQueue Queue(string name)
    {
        lock (_queues)
            return _queues.TryGetValue(name, out var q) ? q : throw new InvalidOperationException($"no queue '{name}'");
    }

    internal bool TryQueue(string name, out MemQueue q)
    {
        lock (_queues) return _queues.TryGetValue(name, out q!);
    }

    internal MemLog Log(string name)
    {
        lock (_logs)
            return _logs.TryGetValue(name, out var l) ? l : throw new InvalidOperationException($"no log '{name}'");
    }

    internal string CreateQueue(string name)
    {
        lock (_queues) _queues[name] = new MemQueue(this, name, singleActive: false, deliveryLimit: null);
        return name;
    }

    internal void DeleteQueue(string name)
    {
        MemQueue? q;
        lock (_queues)
            if (_queues.Remove(name, out q)) q.Close();
    }

    internal void DeadLetter(byte[] body) => Queue(Topology.DeadLetters).Enqueue(body, redelivered: false, deliveries: 0);
}

internal sealed class MemQueue(EmbeddedBroker broker, string name, bool singleActive, int? deliveryLimit)
{
    private readonly LinkedList<Message> _ready = new();
    private readonly List<MemConsumer> _consumers = new();
    private readonly Lock _lock = new();
    private int _next;
    private bool _closed;

    public string Name { get; } = name;

    internal sealed record Message(byte[] Body, bool Redelivered, int Deliveries);

    public long Ready { get { lock (_lock) return _ready.Count; } }

    public void Enqueue(byte[] body, bool redelivered, int deliveries)
    {
        lock (_lock)
        {
            if (_closed) return;
            _ready.AddLast(new Message(body, redelivered, deliveries));
            Pump();
        }
    }

    public MemConsumer AddConsumer(int prefetch, Func<IDelivery, Task> handler)
    {
        var c = new MemConsumer(this, Math.Max(1, prefetch), handler);
        lock (_lock)
        {
            _consumers.Add(c);
            Pump();
        }
        return c;
    }

    public void Settle(MemConsumer c, MemDelivery d, bool deadLetter)
    {
        lock (_lock)
        {
            if (!c.Unacked.Remove(d)) return;
            Pump();
        }
        if (deadLetter) broker.DeadLetter(d.Message.Body);
    }

    /// <summary>The consumer's connection went away: what it held goes back to the head of the queue, in order.</summary>
    public void RemoveConsumer(MemConsumer c)
    {
        var dead = new List<byte[]>();
        lock (_lock)
        {
            if (!_consumers.Remove(c)) return;
            c.Close();
            for (int i = c.Unacked.Count - 1; i >= 0; i--)
            {
                var m = c.Unacked[i].Message;
                int deliveries = m.Deliveries + 1;
                if (deliveryLimit is { } limit && deliveries > limit) dead.Add(m.Body);
                else _ready.AddFirst(m with { Redelivered = true, Deliveries = deliveries });
            }
            c.Unacked.Clear();
            Pump();
        }
        foreach (var b in dead) broker.DeadLetter(b);
    }

    public void Close()
    {
        lock (_lock)
        {
            _closed = true;
            foreach (var c in _consumers) c.Close();
            _consumers.Clear();
            _ready.Clear();
        }
    }

    private void Pump()
    {
        while (_ready.Count > 0 && _consumers.Count > 0)
        {
            MemConsumer? target = null;
            if (singleActive)
            {
                if (_consumers[0].Unacked.Count < _consumers[0].Prefetch) target = _consumers[0];
            }
            else
                for (int i = 0; i < _consumers.Count; i++)
                {
                    var c = _consumers[(_next + i) % _consumers.Count];
                    if (c.Unacked.Count < c.Prefetch) { target = c; _next = (_next + i + 1) % _consumers.Count; break; }
                }
            if (target is null) return;
            var m = _ready.First!.Value;
            _ready.RemoveFirst();
            var d = new MemDelivery(this, target, m);
            target.Unacked.Add(d);
            target.Inbox.Writer.TryWrite(d);
        }
    }
}

internal sealed class MemConsumer
{
    private readonly Task _dispatch;

    public MemConsumer(MemQueue queue, int prefetch, Func<IDelivery, Task> handler)
    {
        Queue = queue;
        Prefetch = prefetch;
        _dispatch = Task.Run(async () =>
        {
            await foreach (var d in Inbox.Reader.ReadAllAsync().ConfigureAwait(false))
            {
                if (d.Settled) continue;
                try { await handler(d).ConfigureAwait(false); }
                catch (Exception) { }
            }
        });
    }

    public MemQueue Queue { get; }
    public int Prefetch { get; }
    public List<MemDelivery> Unacked { get; } = new();
    public Channel<MemDelivery> Inbox { get; } = Channel.CreateUnbounded<MemDelivery>(new UnboundedChannelOptions { SingleReader = true });
    public bool Closed { get; private set; }

    public void Close()
    {
        Closed = true;
        Inbox.Writer.TryComplete();
    }

    public Task Completion => _dispatch;
}

internal sealed class MemDelivery(MemQueue queue, MemConsumer consumer, MemQueue.Message message) : IDelivery
{
    private int _settled;

    public MemQueue.Message Message { get; } = message;
    public ReadOnlyMemory<byte> Body => Message.Body;
    public bool Redelivered => Message.Redelivered;

    /// <summary>Acked, dead-lettered, or its consumer is gone (then the queue has it back).</summary>
    public bool Settled => Volatile.Read(ref _settled) != 0 || consumer.Closed;

    public Task AckAsync() => Settle(false);

    public Task DeadLetterAsync() => Settle(true);

    private Task Settle(bool deadLetter)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0 && !consumer.Closed) queue.Settle(consumer, this, deadLetter);
        return Task.CompletedTask;
    }
}

internal sealed class MemLog
{
    private readonly List<byte[]> _records = new();
    private TaskCompletionSource _grew = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long Append(byte[] body)
    {
        TaskCompletionSource grew;
        long offset;
        lock (_records)
        {
            offset = _records.Count;
            _records.Add(body);
            grew = _grew;
            _grew = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        grew.TrySetResult();
        return offset;
    }

    /// <summary>Records from <paramref name="from"/> on, or a task that completes when there are more.</summary>
    public (byte[][] Records, Task Grew) Read(long from, int max)
    {
        lock (_records)
        {
            int start = (int)Math.Min(from, _records.Count);
            int n = Math.Min(max, _records.Count - start);
            return (_records.GetRange(start, n).ToArray(), _grew.Task);
        }
    }
}
