using System.Collections.Concurrent;
using System.Text;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Fuzz.Tests.Transport;

/// <summary>What the broker does to open transports (a restart with the data kept, a cancelled consumer) and how they carry on.</summary>
[Collection("broker")]
public sealed class RabbitMqReconnectionTests(BrokerFixture broker, ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _farm = $"test-{Guid.NewGuid():N}";
    private readonly List<RabbitMqTransport> _open = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var t in _open) await t.DisposeAsync();
        await broker.DeleteFarmAsync(_farm);
    }

    [Fact]
    public async Task Consumers_and_log_readers_opened_before_a_broker_restart_carry_on_after_it()
    {
        var producer = await ConnectAsync();
        var worker = await ConnectAsync();
        var reader = await ConnectAsync();
        var tasks = new ConcurrentQueue<string>();
        var records = new ConcurrentQueue<LogRecord>();
        await worker.ConsumeAsync(Topology.Tasks, 4, async d => { tasks.Enqueue(Text(d.Body)); await d.AckAsync(); }, default);
        await reader.ReadLogAsync(Topology.Corpus, 0, r => { records.Enqueue(r with { Body = r.Body.ToArray() }); return Task.CompletedTask; }, default);
        for (int i = 0; i < 5; i++)
        {
            await producer.PublishAsync(Topology.Tasks, Msg("t", i), default);
            await producer.AppendAsync(Topology.Corpus, Msg("r", i), default);
        }
        await producer.PublishAsync(Topology.Events, Msg("e", 0), default);
        await Until(() => tasks.Count >= 5 && records.Count >= 5, "the first 5 tasks and records");

        await RestartBrokerAsync();
        await Until(() => new[] { producer, worker, reader }.All(t => t.Reconnects >= 1), "every transport to reconnect");

        for (int i = 5; i < 10; i++)
        {
            await producer.PublishAsync(Topology.Tasks, Msg("t", i), default);
            await producer.AppendAsync(Topology.Corpus, Msg("r", i), default);
        }
        var events = new ConcurrentQueue<string>();
        await worker.ConsumeAsync(Topology.Events, 4, async d => { events.Enqueue(Text(d.Body)); await d.AckAsync(); }, default);
        await Until(() => records.Count >= 10 && tasks.Distinct().Count() >= 10 && !events.IsEmpty, "the records, tasks and event after the restart");
        await Task.Delay(500);

        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"r{i}"), records.Select(r => Text(r.Body)));
        Assert.Equal(records.Select(r => r.Offset).Order(), records.Select(r => r.Offset));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"t{i}"), tasks.Distinct().Order());
        Assert.All(Enumerable.Range(5, 5), i => Assert.Single(tasks, $"t{i}"));
        Assert.Equal(["e0"], events.ToArray());
    }

    [Fact]
    public async Task A_publish_made_while_the_broker_is_down_completes_once_it_is_back()
    {
        var producer = await ConnectAsync();
        Task publish, append;
        try
        {
            await broker.StopAsync();
            publish = producer.PublishAsync(Topology.Tasks, Msg("t", 1), default);
            append = producer.AppendAsync(Topology.Crashes, Msg("c", 1), default);
            await Task.Delay(1000);
            Assert.False(publish.IsCompleted, "a publish cannot be confirmed while the broker is down");
            Assert.False(append.IsCompleted, "an append cannot be confirmed while the broker is down");
        }
        finally
        {
            await broker.StartAsync();
        }
        await publish.WaitAsync(Patience);
        await append.WaitAsync(Patience);
        Assert.True(producer.Reconnects >= 1);

        var consumer = await ConnectAsync();
        var tasks = new ConcurrentQueue<string>();
        var crashes = new ConcurrentQueue<string>();
        await consumer.ConsumeAsync(Topology.Tasks, 4, async d => { tasks.Enqueue(Text(d.Body)); await d.AckAsync(); }, default);
        await consumer.ReadLogAsync(Topology.Crashes, 0, r => { crashes.Enqueue(Text(r.Body)); return Task.CompletedTask; }, default);
        await Until(() => !tasks.IsEmpty && !crashes.IsEmpty, "the task and the crash published during the outage");
        Assert.Equal(["t1"], tasks.Distinct());
        Assert.Equal(["c1"], crashes.Distinct());
    }

    [Fact]
    public async Task A_consumer_the_broker_cancels_is_reopened_once_its_queue_is_back()
    {
        var worker = await ConnectAsync();
        var admin = await ConnectAsync();
        var tasks = new ConcurrentQueue<string>();
        await worker.ConsumeAsync(Topology.Tasks, 4, async d => { tasks.Enqueue(Text(d.Body)); await d.AckAsync(); }, default);
        await admin.PublishAsync(Topology.Tasks, Msg("t", 0), default);
        await Until(() => tasks.Count >= 1, "the first task");

        await admin.DeleteTopologyAsync(default);
        // Declared again only once the consumer has seen its queue go: a quorum queue is deleted
        // asynchronously, and a queue declared in the meantime is the old one, about to vanish.
        await Until(() => _log.Any(l => l.Contains($"cancelled the consumer of fuzz.{_farm}.tasks", StringComparison.Ordinal) || l.Contains("connection to", StringComparison.Ordinal) && l.Contains("lost", StringComparison.Ordinal)),
            "the consumer to learn that its queue was deleted");
        var redeclared = await ConnectAsync();
        await redeclared.PublishAsync(Topology.Tasks, Msg("t", 1), default);
        await Until(() => tasks.Count >= 2, "the task published after the queue was declared again");
        Assert.Equal(["t0", "t1"], tasks.ToArray());
        // RabbitMQ 3.10 sometimes closes the consumer's whole connection (541 INTERNAL_ERROR) when
        // the queue under it is deleted; the consumer then comes back through a reconnection.
        Assert.InRange(worker.Reconnects, 0, 1);
    }

    private async Task RestartBrokerAsync()
    {
        try
        {
            await broker.StopAsync();
        }
        finally
        {
            await broker.StartAsync();
        }
    }

    private async Task<RabbitMqTransport> ConnectAsync()
    {
        var t = new RabbitMqTransport(broker.Url, _farm, new RabbitMqOptions { Log = Log, MaxRetryDelay = TimeSpan.FromSeconds(1) });
        _open.Add(t);
        await t.ConnectAsync(CancellationToken.None);
        return t;
    }

    private readonly ConcurrentQueue<string> _log = new();

    private void Log(string line)
    {
        _log.Enqueue(line);
        try
        {
            output.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {line}");
        }
        catch (InvalidOperationException)
        {
            // The test is over; background reconnection chatter after it is of no interest.
        }
    }

    private static byte[] Msg(string kind, int i) => Encoding.ASCII.GetBytes($"{kind}{i}");

    private static string Text(ReadOnlyMemory<byte> b) => Encoding.ASCII.GetString(b.Span);

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
