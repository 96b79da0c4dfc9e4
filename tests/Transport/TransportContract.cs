using Xunit;
using System.Collections.Concurrent;
using System.Text;
using Fuzz.Engine.Transport;

namespace Fuzz.Tests.Transport;

/// <summary>
/// What every transport must do, run against each implementation. Each test gets its own broker
/// namespace; <see cref="ConnectAsync"/> opens another connection to it (another process, as far
/// as the broker can tell).
/// </summary>
public abstract class TransportContract : IAsyncLifetime
{
    protected static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);
    private readonly List<ITransport> _open = new();

    protected abstract Task<ITransport> OpenAsync();

    protected async Task<ITransport> ConnectAsync()
    {
        var t = await OpenAsync();
        await t.ConnectAsync(CancellationToken.None);
        lock (_open) _open.Add(t);
        return t;
    }

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync()
    {
        foreach (var t in _open) await t.DisposeAsync();
    }

    protected static byte[] Msg(int i) => Encoding.ASCII.GetBytes($"m{i}");

    protected static string Text(ReadOnlyMemory<byte> b) => Encoding.ASCII.GetString(b.Span);

    protected static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(20);
        }
    }

    protected static async Task UntilAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }

    [Fact]
    public async Task Published_messages_arrive_once_in_order()
    {
        var producer = await ConnectAsync();
        var consumer = await ConnectAsync();
        var got = new ConcurrentQueue<string>();
        await using var sub = await consumer.ConsumeAsync(Topology.Tasks, 16, async d => { got.Enqueue(Text(d.Body)); await d.AckAsync(); }, default);
        for (int i = 0; i < 200; i++) await producer.PublishAsync(Topology.Tasks, Msg(i), default);
        await Until(() => got.Count >= 200, "200 messages");
        await Task.Delay(300);
        Assert.Equal(Enumerable.Range(0, 200).Select(i => $"m{i}"), got);
        Assert.Equal(0, await producer.CountAsync(Topology.Tasks, default));
    }

    [Fact]
    public async Task Concurrent_publishers_lose_and_duplicate_nothing()
    {
        var producers = new[] { await ConnectAsync(), await ConnectAsync() };
        var consumer = await ConnectAsync();
        var got = new ConcurrentBag<string>();
        await using var sub = await consumer.ConsumeAsync(Topology.Events, 64, async d => { got.Add(Text(d.Body)); await d.AckAsync(); }, default);
        await Task.WhenAll(Enumerable.Range(0, 8).Select(p => Task.Run(async () =>
        {
            for (int i = 0; i < 250; i++) await producers[p % 2].PublishAsync(Topology.Events, Msg(p * 1000 + i), default);
        })));
        await Until(() => got.Count >= 2000, "2000 messages");
        await Task.Delay(300);
        Assert.Equal(2000, got.Count);
        Assert.Equal(2000, got.Distinct().Count());
    }

    [Fact]
    public async Task Unacked_messages_go_back_to_the_queue_when_their_connection_closes()
    {
        var producer = await ConnectAsync();
        var dying = await ConnectAsync();
        var held = new ConcurrentQueue<string>();
        await dying.ConsumeAsync(Topology.Tasks, 3, d => { held.Enqueue(Text(d.Body)); return Task.CompletedTask; }, default);
        for (int i = 0; i < 5; i++) await producer.PublishAsync(Topology.Tasks, Msg(i), default);
        await Until(() => held.Count == 3, "3 unacked deliveries");
        await dying.DisposeAsync();

        var survivor = await ConnectAsync();
        var got = new ConcurrentQueue<(string, bool)>();
        await using var sub = await survivor.ConsumeAsync(Topology.Tasks, 10, async d => { got.Enqueue((Text(d.Body), d.Redelivered)); await d.AckAsync(); }, default);
        await Until(() => got.Count >= 5, "5 messages");
        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"m{i}").Order(), got.Select(g => g.Item1).Order());
        Assert.All(got.Where(g => held.Contains(g.Item1)), g => Assert.True(g.Item2, $"{g.Item1} should be marked redelivered"));
    }

    [Fact]
    public async Task The_events_queue_has_one_active_consumer_and_the_next_takes_over()
    {
        var producer = await ConnectAsync();
        var active = await ConnectAsync();
        var standby = await ConnectAsync();
        var a = new ConcurrentQueue<string>();
        var b = new ConcurrentQueue<string>();
        await active.ConsumeAsync(Topology.Events, 4, async d =>
        {
            a.Enqueue(Text(d.Body));
            if (a.Count <= 10) await d.AckAsync();
        }, default);
        await Task.Delay(200);
        await using var sb = await standby.ConsumeAsync(Topology.Events, 4, async d => { b.Enqueue(Text(d.Body)); await d.AckAsync(); }, default);
        for (int i = 0; i < 12; i++) await producer.PublishAsync(Topology.Events, Msg(i), default);
        await Until(() => a.Count >= 12, "the active consumer to get all 12");
        await Task.Delay(300);
        Assert.Empty(b);

        await active.DisposeAsync();
        for (int i = 12; i < 15; i++) await producer.PublishAsync(Topology.Events, Msg(i), default);
        await Until(() => b.Count >= 5, "the standby to get the 2 unacked and the 3 new");
        Assert.Equal(["m10", "m11", "m12", "m13", "m14"], b.Order().ToArray());
    }

    [Fact]
    public async Task Tasks_are_shared_between_competing_consumers()
    {
        var producer = await ConnectAsync();
        var w1 = await ConnectAsync();
        var w2 = await ConnectAsync();
        var got1 = new ConcurrentBag<string>();
        var got2 = new ConcurrentBag<string>();
        async Task Slow(IDelivery d, ConcurrentBag<string> into) { into.Add(Text(d.Body)); await Task.Delay(20); await d.AckAsync(); }
        await using var s1 = await w1.ConsumeAsync(Topology.Tasks, 1, d => Slow(d, got1), default);
        await using var s2 = await w2.ConsumeAsync(Topology.Tasks, 1, d => Slow(d, got2), default);
        for (int i = 0; i < 40; i++) await producer.PublishAsync(Topology.Tasks, Msg(i), default);
        await Until(() => got1.Count + got2.Count >= 40, "40 tasks");
        Assert.NotEmpty(got1);
        Assert.NotEmpty(got2);
        Assert.Equal(40, got1.Concat(got2).Distinct().Count());
    }

    [Fact]
    public async Task Dead_lettered_messages_are_kept_aside_and_not_redelivered()
    {
        var t = await ConnectAsync();
        var got = new ConcurrentQueue<string>();
        await using (await t.ConsumeAsync(Topology.Events, 8, async d =>
        {
            got.Enqueue(Text(d.Body));
            if (Text(d.Body) == "m1") await d.DeadLetterAsync(); else await d.AckAsync();
        }, default))
        {
            for (int i = 0; i < 3; i++) await t.PublishAsync(Topology.Events, Msg(i), default);
            await Until(() => got.Count >= 3, "3 messages");
            await UntilAsync(async () => await t.CountAsync(Topology.DeadLetters, default) == 1, "1 dead letter");
        }
        var again = new ConcurrentQueue<string>();
        await using var sub = await t.ConsumeAsync(Topology.Events, 8, async d => { again.Enqueue(Text(d.Body)); await d.AckAsync(); }, default);
        await Task.Delay(500);
        Assert.Empty(again);
        Assert.Equal(["m0", "m1", "m2"], got.ToArray());
    }

    [Fact]
    public async Task A_task_that_keeps_losing_its_worker_is_dead_lettered_after_the_delivery_limit()
    {
        var producer = await ConnectAsync();
        await producer.PublishAsync(Topology.Tasks, Msg(7), default);
        int deliveries = 0;
        for (int i = 0; i < Topology.TaskDeliveryLimit + 3 && await producer.CountAsync(Topology.DeadLetters, default) == 0; i++)
        {
            var worker = await ConnectAsync();
            int before = deliveries;
            await worker.ConsumeAsync(Topology.Tasks, 1, d => { Interlocked.Increment(ref deliveries); return Task.CompletedTask; }, default);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(3);
            while (Volatile.Read(ref deliveries) == before && DateTime.UtcNow < deadline) await Task.Delay(20);
            await worker.DisposeAsync();
            await Task.Delay(100);
        }
        await UntilAsync(async () => await producer.CountAsync(Topology.DeadLetters, default) == 1, "the task in the dead letters");
        Assert.InRange(deliveries, Topology.TaskDeliveryLimit, Topology.TaskDeliveryLimit + 1);
        Assert.Equal(0, await producer.CountAsync(Topology.Tasks, default));
    }

    [Fact]
    public async Task Every_reader_reads_the_whole_log_in_order_including_late_ones()
    {
        var writer = await ConnectAsync();
        for (int i = 0; i < 100; i++) await writer.AppendAsync(Topology.Corpus, Msg(i), default);
        var early = new ConcurrentQueue<LogRecord>();
        var reader1 = await ConnectAsync();
        await using var r1 = await reader1.ReadLogAsync(Topology.Corpus, 0, r => { early.Enqueue(r with { Body = r.Body.ToArray() }); return Task.CompletedTask; }, default);
        for (int i = 100; i < 150; i++) await writer.AppendAsync(Topology.Corpus, Msg(i), default);
        await Until(() => early.Count >= 150, "150 records for the first reader");

        var late = new ConcurrentQueue<LogRecord>();
        var reader2 = await ConnectAsync();
        await using var r2 = await reader2.ReadLogAsync(Topology.Corpus, 0, r => { late.Enqueue(r with { Body = r.Body.ToArray() }); return Task.CompletedTask; }, default);
        await Until(() => late.Count >= 150, "150 records for the late reader");
        await Task.Delay(300);
        foreach (var q in new[] { early, late })
        {
            Assert.Equal(Enumerable.Range(0, 150).Select(i => $"m{i}"), q.Select(r => Text(r.Body)));
            var offsets = q.Select(r => r.Offset).ToList();
            Assert.Equal(offsets.Order(), offsets);
            Assert.Equal(150, offsets.Distinct().Count());
        }

        var fromMiddle = new ConcurrentQueue<string>();
        long resume = early.ElementAt(120).Offset;
        await using var r3 = await reader2.ReadLogAsync(Topology.Corpus, resume, r => { fromMiddle.Enqueue(Text(r.Body)); return Task.CompletedTask; }, default);
        await Until(() => fromMiddle.Count >= 30, "30 records from offset 120");
        await Task.Delay(300);
        Assert.Equal(Enumerable.Range(120, 30).Select(i => $"m{i}"), fromMiddle);
    }

    [Fact]
    public async Task Logs_are_separate()
    {
        var t = await ConnectAsync();
        await t.AppendAsync(Topology.Crashes, Msg(1), default);
        await t.AppendAsync(Topology.Corpus, Msg(2), default);
        var crashes = new ConcurrentQueue<string>();
        await using var r = await t.ReadLogAsync(Topology.Crashes, 0, x => { crashes.Enqueue(Text(x.Body)); return Task.CompletedTask; }, default);
        await Until(() => crashes.Count >= 1, "the crash record");
        await Task.Delay(300);
        Assert.Equal(["m1"], crashes.ToArray());
    }

    [Fact]
    public async Task Reply_queues_carry_results_back_to_their_owner()
    {
        var owner = await ConnectAsync();
        var worker = await ConnectAsync();
        string reply = await owner.CreateReplyQueueAsync(default);
        string other = await owner.CreateReplyQueueAsync(default);
        Assert.NotEqual(reply, other);
        var got = new ConcurrentQueue<string>();
        await using var sub = await owner.ConsumeAsync(reply, 8, async d => { got.Enqueue(Text(d.Body)); await d.AckAsync(); }, default);
        await worker.PublishAsync(reply, Msg(42), default);
        await Until(() => got.Count >= 1, "the reply");
        Assert.Equal(["m42"], got.ToArray());
    }
}
