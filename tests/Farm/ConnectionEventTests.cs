using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.RabbitMq;
using Fuzz.Targets;
using Fuzz.Tests.Transport;
using Fuzz.Worker.Node;
using RabbitMQ.Client;
using Xunit;
using Xunit.Abstractions;

namespace Fuzz.Tests.Farm;

/// <summary>
/// Workers tracked from the broker's connection events (RabbitMQ's event exchange): a worker
/// whose connection closes is lost at once, long before the heartbeat timeout; events that
/// cannot be read are counted and ignored.
/// </summary>
[Collection("broker")]
public sealed class ConnectionEventTests(BrokerFixture broker, ITestOutputHelper log) : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(60);
    private readonly string _farm = "e" + Guid.NewGuid().ToString("n")[..12];
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fuzz-conn-events-" + Guid.NewGuid().ToString("n"));
    private readonly Teardown _teardown = new();
    private readonly ConcurrentQueue<string> _log = new();

    public Task InitializeAsync()
    {
        _teardown.Dir(_dir);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _teardown.DisposeAsync();
        foreach (var l in _log) log.WriteLine(l);
        await broker.DeleteFarmAsync(_farm);
    }

    private async Task<RabbitMqTransport> Connect(string? connectionName, string? farm = null)
    {
        var t = new RabbitMqTransport(broker.Url, farm ?? _farm, new RabbitMqOptions { ConnectionName = connectionName, Log = _log.Enqueue });
        _teardown.Add(t);
        await t.ConnectAsync(default);
        return t;
    }

    private async Task<CoordinatorNode> StartCoordinator(RabbitMqTransport transport)
    {
        var node = new CoordinatorNode(new CoordinatorOptions("c1", _dir, "mmu", []) { WorkerTimeout = HeartbeatTimeout, StatsInterval = null }, new TargetFactory(), transport);
        node.Log += l => _log.Enqueue($"{DateTime.UtcNow:HH:mm:ss.fff} {l}");
        _teardown.Add(node);
        await node.StartAsync(default);
        return node;
    }

    private async Task<WorkerNode> StartWorker(string name, RabbitMqTransport transport)
    {
        var node = new WorkerNode(new WorkerOptions(name, 1, new FuzzOptions("mmu", FuzzStrategy.Coverage, 3, [])), new TargetFactory(), transport);
        _teardown.Add(node);
        await node.StartAsync(default);
        node.StartLoops();
        return node;
    }

    private static async Task Until(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    private WorkerInfo? Worker(CoordinatorNode c, string name) => c.Workers.FirstOrDefault(w => w.Name == name);

    [Fact]
    public async Task The_transport_reports_a_named_connection_of_its_farm_opening_and_closing_and_nothing_of_others()
    {
        var watcher = await Connect(null);
        var events = new ConcurrentQueue<ConnectionEvent>();
        await watcher.WatchConnectionsAsync(e => { events.Enqueue(e); return Task.CompletedTask; }, default);

        var other = await Connect(ConnectionNames.Of(ConnectionNames.Worker, "another-farm", "w9"), farm: "another-farm");
        var unnamed = await Connect(null);
        var worker = await Connect(ConnectionNames.Of(ConnectionNames.Worker, _farm, "host:7"));
        await Until(() => events.Any(e => e.Kind == ConnectionEventKind.Opened), "connection.created of the worker");
        await worker.DisposeAsync();
        await Until(() => events.Any(e => e.Kind == ConnectionEventKind.Closed), "connection.closed of the worker");
        await other.DisposeAsync();
        await unnamed.DisposeAsync();
        await Task.Delay(500);

        var all = events.ToArray();
        Assert.Equal([ConnectionEventKind.Opened, ConnectionEventKind.Closed], all.Select(e => e.Kind));
        Assert.All(all, e => Assert.Equal((ConnectionNames.Worker, "host:7"), (e.Role, e.Name)));
        Assert.Equal(all[0].Connection, all[1].Connection);
        Assert.InRange(all[1].BrokerUnixMs, all[0].BrokerUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() + 60_000);
    }

    /// <summary>
    /// Closed: an in-process worker's connection, without a goodbye (what kill -9 does to it).
    /// Checked: the coordinator has it lost because of the broker event within 5 s, while its
    /// heartbeat timeout is 60 s; then malformed events are pushed into the coordinator's event queue
    /// and counted, and a second worker still joins and is lost the same way afterwards.
    /// </summary>
    [Fact]
    public async Task A_worker_whose_connection_closes_is_lost_by_broker_event_long_before_the_heartbeat_timeout()
    {
        var coordinatorLink = await Connect(ConnectionNames.Of(ConnectionNames.Coordinator, _farm, "c1"));
        var c = await StartCoordinator(coordinatorLink);
        var link1 = await Connect(ConnectionNames.Of(ConnectionNames.Worker, _farm, "w1"));
        await StartWorker("w1", link1);
        await Until(() => Worker(c, "w1")?.State == WorkerState.Alive && c.InputsAccepted > 0, "w1 to join and have inputs accepted");

        var closed = Stopwatch.StartNew();
        await link1.DisposeAsync();
        await Until(() => Worker(c, "w1")?.State == WorkerState.Lost, "w1 to be lost", TimeSpan.FromSeconds(5));
        log.WriteLine($"w1's connection closed; lost after {closed.Elapsed.TotalMilliseconds:F0} ms (heartbeat timeout {HeartbeatTimeout.TotalSeconds} s)");
        Assert.Equal(CoordinatorNode.LostByConnectionEvent, Worker(c, "w1")!.LostBecause);
        await Task.Delay(1500);
        Assert.Equal(WorkerState.Lost, Worker(c, "w1")!.State);
        Assert.Contains(_log, l => l.Contains("worker w1 lost: connection closed (broker event)"));

        string queue = Assert.Single(coordinatorLink.ConnectionEventQueues);
        int malformed = await PublishMalformedEventsAsync(queue);
        await Until(() => c.ConnectionEventsMalformed == malformed, $"{malformed} malformed events to be counted");

        var link2 = await Connect(ConnectionNames.Of(ConnectionNames.Worker, _farm, "w2"));
        await StartWorker("w2", link2);
        await Until(() => Worker(c, "w2")?.State == WorkerState.Alive, "w2 to join");
        await link2.DisposeAsync();
        await Until(() => Worker(c, "w2") is { State: WorkerState.Lost, LostBecause: CoordinatorNode.LostByConnectionEvent }, "w2 to be lost by broker event", TimeSpan.FromSeconds(5));
        Assert.Equal(malformed, c.ConnectionEventsMalformed);
    }

    [Fact]
    public async Task A_worker_that_says_goodbye_stays_left_when_its_connection_closes()
    {
        var c = await StartCoordinator(await Connect(ConnectionNames.Of(ConnectionNames.Coordinator, _farm, "c1")));
        var link = await Connect(ConnectionNames.Of(ConnectionNames.Worker, _farm, "w1"));
        var w = await StartWorker("w1", link);
        await Until(() => Worker(c, "w1")?.State == WorkerState.Alive, "w1 to join");
        await w.StopAsync(TimeSpan.FromSeconds(10));
        await link.DisposeAsync();
        await Until(() => Worker(c, "w1")?.State == WorkerState.Left, "w1 to have left");
        await Task.Delay(1500);
        Assert.Equal(WorkerState.Left, Worker(c, "w1")!.State);
    }

    /// <summary>Events the coordinator's queue can receive that are not what the event exchange sends; each is counted once.</summary>
    private async Task<int> PublishMalformedEventsAsync(string queue)
    {
        string name = ConnectionNames.Of(ConnectionNames.Worker, _farm, "w1");
        var bad = new List<(string Key, Dictionary<string, object?>? Headers)>
        {
            ("connection.closed", null),
            ("connection.closed", new() { ["user_provided_name"] = Encoding.UTF8.GetBytes(name) }),
            ("connection.closed", new() { ["user_provided_name"] = Encoding.UTF8.GetBytes(name), ["pid"] = Encoding.UTF8.GetBytes("<x.1.2.3>") }),
            ("connection.closed", new() { ["user_provided_name"] = 42, ["pid"] = Encoding.UTF8.GetBytes("<x.1.2.3>"), ["timestamp_in_ms"] = 1L }),
            ("connection.created", new() { ["user_provided_name"] = new byte[] { 0xff, 0xfe, 0x80 }, ["pid"] = Encoding.UTF8.GetBytes("<x>"), ["timestamp_in_ms"] = 1L }),
            ("connection.created", new() { ["user_provided_name"] = Encoding.UTF8.GetBytes(name), ["pid"] = 3.5, ["timestamp_in_ms"] = 1L }),
            ("queue.deleted", new() { ["name"] = Encoding.UTF8.GetBytes("q") }),
        };
        var factory = new ConnectionFactory { Uri = broker.Url };
        await using var conn = await factory.CreateConnectionAsync();
        await using var ch = await conn.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        // Only the broker may publish to amq.rabbitmq.event, so these go to the queue through the default exchange: they arrive
        // with the queue's name as routing key, besides their bad headers (the parsing tests below take each fault alone).
        foreach (var (key, headers) in bad)
            await ch.BasicPublishAsync("", queue, mandatory: true, new BasicProperties { Headers = headers }, Encoding.UTF8.GetBytes(key));
        return bad.Count;
    }
}

/// <summary>What RabbitMQ 3.10's connection events look like (seen on a real broker) and what is made of them.</summary>
public sealed class RabbitMqConnectionEventParsingTests
{
    private const string Farm = "f1";

    private static Dictionary<string, object?> Closed310(string? userName, string? propertiesName) => new()
    {
        ["client_properties"] = new List<object?>
        {
            Encoding.UTF8.GetBytes("{<<\"product\">>,longstr,<<\"RabbitMQ\">>}"),
            Encoding.UTF8.GetBytes("{<<\"capabilities\">>,table,[{<<\"publisher_confirms\">>,bool,true}]}"),
            Encoding.UTF8.GetBytes($"{{<<\"connection_name\">>,longstr,<<\"{propertiesName}\">>}}"),
        }.Take(propertiesName is null ? 2 : 3).ToList(),
        ["node"] = Encoding.UTF8.GetBytes("fuzz6100a@localhost"),
        ["pid"] = Encoding.UTF8.GetBytes("<fuzz6100a@localhost.1795267189.719.0>"),
        ["name"] = Encoding.UTF8.GetBytes("127.0.0.1:55880 -> 127.0.0.1:6100"),
        ["user_provided_name"] = userName is null ? null : Encoding.UTF8.GetBytes(userName),
        ["timestamp_in_ms"] = 1795267201167L,
    };

    [Fact]
    public void A_310_event_of_a_worker_of_this_farm_is_read_from_user_provided_name()
    {
        var e = RabbitMqConnectionEvents.Parse("connection.closed", Closed310("fuzz-worker:f1:host-1:2", "fuzz-worker:f1:host-1:2"), Farm);
        Assert.Equal(new ConnectionEvent(ConnectionEventKind.Closed, "worker", "host-1:2", "<fuzz6100a@localhost.1795267189.719.0>", 1795267201167L), e);
    }

    [Fact]
    public void Without_user_provided_name_the_name_is_read_from_client_properties()
    {
        var h = Closed310(null, "fuzz-coordinator:f1:c1");
        h.Remove("user_provided_name");
        var e = RabbitMqConnectionEvents.Parse("connection.created", h, Farm);
        Assert.Equal((ConnectionEventKind.Opened, "coordinator", "c1"), (e!.Kind, e.Role, e.Name));
        h["client_properties"] = new Dictionary<string, object?> { ["connection_name"] = Encoding.UTF8.GetBytes("fuzz-worker:f1:w3") };
        Assert.Equal("w3", RabbitMqConnectionEvents.Parse("connection.created", h, Farm)!.Name);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("fuzz f1 pid 12")]
    [InlineData("fuzz-worker:f2:w1")]
    [InlineData("fuzz-worker:f1")]
    [InlineData("somebody else")]
    public void Connections_that_are_not_this_farms_are_ignored(string? name) =>
        Assert.Null(RabbitMqConnectionEvents.Parse("connection.closed", Closed310(name, name), Farm));

    public static TheoryData<string, Dictionary<string, object?>?> Malformed() => new()
    {
        { "connection.closed", null },
        { "connection.closed", new() { ["user_provided_name"] = Encoding.UTF8.GetBytes("fuzz-worker:f1:w1") } },
        { "connection.closed", new() { ["user_provided_name"] = Encoding.UTF8.GetBytes("fuzz-worker:f1:w1"), ["pid"] = Encoding.UTF8.GetBytes("<p>"), ["timestamp_in_ms"] = "soon" } },
        { "connection.closed", new() { ["user_provided_name"] = 7, ["pid"] = Encoding.UTF8.GetBytes("<p>"), ["timestamp_in_ms"] = 1L } },
        { "connection.closed", new() { ["user_provided_name"] = new byte[] { 0xc3, 0x28 }, ["pid"] = Encoding.UTF8.GetBytes("<p>"), ["timestamp_in_ms"] = 1L } },
        { "connection.created", new() { ["user_provided_name"] = Encoding.UTF8.GetBytes("fuzz-worker:f1:w1"), ["pid"] = new List<object>(), ["timestamp_in_ms"] = 1L } },
        { "channel.created", new() },
        { "", new() },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Malformed_events_are_reported_as_such_never_thrown(string key, Dictionary<string, object?>? headers)
    {
        var e = RabbitMqConnectionEvents.Parse(key, headers, Farm);
        Assert.Equal(ConnectionEventKind.Malformed, e!.Kind);
        Assert.False(string.IsNullOrEmpty(e.Problem));
    }

    [Fact]
    public void Connection_names_round_trip()
    {
        Assert.True(ConnectionNames.TryParse(ConnectionNames.Of("worker", "farm_1", "a:b c"), out var role, out var farm, out var name));
        Assert.Equal(("worker", "farm_1", "a:b c"), (role, farm, name));
    }
}
