using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.Wire;
using Fuzz.Targets;
using Fuzz.Worker.Node;
using Google.Protobuf;
using Xunit;

namespace Fuzz.Tests.Farm;

/// <summary>
/// The coordinator and workers as components (in this process) over a transport: merging, late
/// join, bad messages, standby take-over. Run against each transport.
/// </summary>
public abstract class FarmContract : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly Teardown _teardown = new();
    protected readonly TargetFactory Factory = new();

    protected abstract Task<ITransport> OpenAsync();

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual async Task DisposeAsync() => await _teardown.DisposeAsync();

    protected async Task<ITransport> Connect()
    {
        var t = await OpenAsync();
        await t.ConnectAsync(default);
        return _teardown.Add(t);
    }

    protected string TempDir() => _teardown.TempDir("fuzz-farm-");

    protected async Task<CoordinatorNode> StartCoordinator(string name, string workDir, string[]? bugs = null, ITransport? transport = null)
    {
        var node = new CoordinatorNode(new CoordinatorOptions(name, workDir, "mmu", bugs ?? []) { MinimizeBudget = TimeSpan.FromSeconds(5) }, Factory, transport ?? await Connect());
        _teardown.Add(node);
        await node.StartAsync(default);
        return node;
    }

    protected async Task<WorkerNode> StartWorker(string name, int jobs = 1, string[]? bugs = null, bool loops = true)
    {
        var node = new WorkerNode(new WorkerOptions(name, jobs, new FuzzOptions("mmu", FuzzStrategy.Coverage, 7, bugs ?? [])), Factory, await Connect());
        _teardown.Add(node);
        await node.StartAsync(default);
        if (loops) node.StartLoops();
        return node;
    }

    protected static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(25);
        }
    }

    /// <summary>A report of <paramref name="n"/> distinct inputs, each with a feature of its own.</summary>
    protected static Envelope Inputs(string sender, int first, int n, string campaign = "mmu")
    {
        var env = new EnvelopeFactory(sender, campaign).New();
        env.NewInputs = new NewInputs();
        for (int i = first; i < first + n; i++)
            env.NewInputs.Inputs.Add(new Fuzz.Engine.Transport.Messages.Input { Data = ByteString.CopyFrom(BitConverter.GetBytes(i).Concat(new byte[] { 1, 2, 3 }).ToArray()), Features = { (uint)(1000 + i) } });
        return env;
    }

    protected static HashSet<string> CorpusFiles(string workDir) =>
        Directory.GetFiles(Path.Combine(workDir, "corpus", "mmu")).Select(Path.GetFileName).Where(n => !AtomicFileName(n!)).ToHashSet(StringComparer.Ordinal)!;

    private static bool AtomicFileName(string n) => n.Contains(".tmp-", StringComparison.Ordinal);

    [Fact]
    public async Task The_coordinator_accepts_only_inputs_that_add_features_and_persists_them_before_acking()
    {
        string dir = TempDir();
        var coordinator = await StartCoordinator("c1", dir);
        var w = await Connect();
        await w.PublishAsync(Topology.Events, FarmWire.Encode(Inputs("w1", 0, 50)), default);
        var again = Inputs("w2", 0, 50);
        foreach (var i in again.NewInputs.Inputs) i.Data = ByteString.CopyFrom(i.Data.Concat(new byte[] { 9 }).ToArray());
        await w.PublishAsync(Topology.Events, FarmWire.Encode(again), default);
        await w.PublishAsync(Topology.Events, FarmWire.Encode(Inputs("w1", 50, 10)), default);
        await Until(() => coordinator.InputsReceived == 110, "110 inputs received");
        await coordinator.WaitIdleAsync(default);
        Assert.Equal(60, coordinator.InputsAccepted);
        Assert.Equal(50, coordinator.InputsRedundant);
        Assert.Equal(60, CorpusFiles(dir).Count);
        using (var wal = File.Open(Path.Combine(dir, "accepted.wal"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
            Assert.Equal(CorpusFiles(dir), Fuzz.Engine.Corpus.CorpusWal.Read(wal).Records.Select(r => Fuzz.Engine.Corpus.CorpusStore.NameOf(r)).ToHashSet());
        Assert.Equal(0, await w.CountAsync(Topology.Events, default));
        var log = File.ReadAllLines(Path.Combine(dir, "inputs.log"));
        Assert.Equal(60, log.Count(l => l.StartsWith("accepted ")));
        Assert.Equal(50, log.Count(l => l.StartsWith("redundant ") && l.EndsWith(" w2")));
    }

    [Fact]
    public async Task A_worker_that_joins_after_1000_inputs_were_merged_receives_all_of_them()
    {
        string dir = TempDir();
        var coordinator = await StartCoordinator("c1", dir);
        var w = await Connect();
        for (int i = 0; i < 1000; i += 100) await w.PublishAsync(Topology.Events, FarmWire.Encode(Inputs("early", i, 100)), default);
        await Until(() => coordinator.InputsAccepted == 1000, "1000 inputs merged");
        await coordinator.WaitIdleAsync(default);

        var late = await StartWorker("late", loops: false);
        await Until(() => late.CorpusReceived >= 1000, "the late worker to receive 1000 inputs");
        var names = late.Session.Corpus.Snapshot.ToArray().Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Equal(CorpusFiles(dir), names);
        Assert.Equal(1000, late.Session.Features.Features);
    }

    [Fact]
    public async Task Garbage_truncated_oversized_and_wrong_version_messages_are_dead_lettered_and_counted()
    {
        var coordinator = await StartCoordinator("c1", TempDir());
        var w = await Connect();
        var good = FarmWire.Encode(Inputs("w1", 0, 3));
        var wrongVersion = Inputs("w1", 10, 1);
        wrongVersion.Version = FarmWire.ProtocolVersion + 1;
        var rng = new Random(5);
        var garbage = new byte[300];
        rng.NextBytes(garbage);
        garbage[0] = 0xff;
        var oversized = new byte[FarmWire.MaxMessageBytes + 1];
        await w.PublishAsync(Topology.Events, garbage, default);
        await w.PublishAsync(Topology.Events, good.AsMemory(0, good.Length - 3), default);
        await w.PublishAsync(Topology.Events, oversized, default);
        await w.PublishAsync(Topology.Events, FarmWire.Encode(wrongVersion), default);
        await w.PublishAsync(Topology.Events, FarmWire.Encode(Inputs("w9", 20, 1, campaign: "mmu+stale-fault")), default);
        await w.PublishAsync(Topology.Events, good, default);
        await Until(() => coordinator.Rejected.Total == 5 && coordinator.InputsAccepted == 3, "5 rejections and the good message");
        Assert.Equal(1, coordinator.Rejected[Rejection.Garbage]);
        Assert.Equal(1, coordinator.Rejected[Rejection.Truncated]);
        Assert.Equal(1, coordinator.Rejected[Rejection.Oversized]);
        Assert.Equal(1, coordinator.Rejected[Rejection.WrongVersion]);
        Assert.Equal(1, coordinator.Rejected[Rejection.WrongCampaign]);
        var deadline = DateTime.UtcNow + Patience;
        while (await w.CountAsync(Topology.DeadLetters, default) < 5 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.Equal(5, await w.CountAsync(Topology.DeadLetters, default));
        Assert.Equal(3, coordinator.CorpusCount);
    }

    [Fact]
    public async Task Workers_share_what_they_find_and_the_coordinator_tracks_them()
    {
        string dir = TempDir();
        var coordinator = await StartCoordinator("c1", dir);
        var w1 = await StartWorker("w1");
        var w2 = await StartWorker("w2");
        await Until(() => w1.CorpusReceived > 50 && w2.CorpusReceived > 50 && coordinator.Workers.Count(w => w.State == WorkerState.Alive) == 2, "both workers to receive merged inputs");
        await Until(() => w1.PropagationLatency.Count > 0 && w2.PropagationLatency.Count > 0 && coordinator.Stats().PropagationP99Ms is not null,
            "each worker to time what the other found, and the coordinator to have it from their heartbeats");
        await w1.StopAsync(TimeSpan.FromSeconds(10));
        await Until(() => coordinator.Workers.Any(w => w.Name == "w1" && w.State == WorkerState.Left), "w1 to have left");
        await w2.StopAsync(TimeSpan.FromSeconds(10));
        await coordinator.WaitIdleAsync(default);
        Assert.Equal(coordinator.CorpusCount, CorpusFiles(dir).Count);
        Assert.True(coordinator.InputsAccepted > 0);
        var w2Corpus = w2.Session.Corpus.Snapshot.ToArray().Select(e => e.Name).ToHashSet(StringComparer.Ordinal);
        Assert.Subset(w2Corpus, CorpusFiles(dir).Where(n => w2Corpus.Contains(n)).ToHashSet(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_crash_found_by_two_workers_is_reverified_minimised_on_a_worker_and_filed_once()
    {
        string dir = TempDir();
        string[] bugs = ["stale-fault"];
        var coordinator = await StartCoordinator("c1", dir, bugs);
        var w1 = await StartWorker("w1", bugs: bugs);
        var w2 = await StartWorker("w2", bugs: bugs);
        await Until(() => w1.CrashesReported > 0 && w2.CrashesReported > 0, "both workers to report a crash");
        await Until(() => coordinator.Triage.Filed.Count > 0 && coordinator.Triage.Pending == 0 && !coordinator.Triage.Busy, "triage");
        await w1.StopAsync(TimeSpan.FromSeconds(10));
        await w2.StopAsync(TimeSpan.FromSeconds(10));
        var filed = coordinator.Triage.Filed;
        Assert.All(filed, r => Assert.True(r.After.Ops <= r.Before.Ops));
        Assert.True(w1.TasksDone + w2.TasksDone > 0, "minimisation ran as a task on a worker");
        Assert.True(filed.Count < w1.CrashesReported + w2.CrashesReported, "reports of the same crash were deduplicated");
        foreach (var r in filed)
            foreach (var f in new[] { "input", "minimized", "trace.txt", "report.json", "report.md" })
                Assert.True(File.Exists(Path.Combine(dir, "crashes", r.Signature, f)), $"{r.Signature}/{f}");
        int received = Directory.GetFiles(Path.Combine(dir, "crashes-received")).Length;
        Assert.InRange(received, 1, w1.CrashesReported + w2.CrashesReported);
    }

    [Fact]
    public async Task A_standby_takes_over_when_the_active_coordinator_goes_and_ends_with_the_union()
    {
        string dirA = TempDir(), dirB = TempDir();
        var linkA = await Connect();
        var a = await StartCoordinator("A", dirA, transport: linkA);
        var b = await StartCoordinator("B", dirB);
        var w = await Connect();
        for (int i = 0; i < 300; i += 50) await w.PublishAsync(Topology.Events, FarmWire.Encode(Inputs("w1", i, 50)), default);
        await Until(() => a.InputsAccepted == 300, "A to merge 300");
        Assert.True(a.Active);
        Assert.False(b.Active);
        Assert.Equal(0, b.InputsReceived);
        await Until(() => b.CorpusCount == 300, "B to follow the merged corpus");

        await linkA.DisposeAsync();
        for (int i = 300; i < 500; i += 50) await w.PublishAsync(Topology.Events, FarmWire.Encode(Inputs("w1", i, 50)), default);
        await Until(() => b.Active && b.InputsAccepted == 200, "B to take over and merge the next 200");
        await b.WaitIdleAsync(default);
        var union = CorpusFiles(dirA);
        union.UnionWith(b.InputsAccepted > 0 ? CorpusFiles(dirB) : []);
        Assert.Equal(500, union.Count);
        Assert.Equal(union, CorpusFiles(dirB));
    }
}
