using System.Collections.Concurrent;
using System.Diagnostics;
using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.RabbitMq;
using Fuzz.Targets;
using Fuzz.Tests.Transport;
using Fuzz.Worker.Node;
using Xunit;
using Xunit.Abstractions;

namespace Fuzz.Tests.Farm;

/// <summary>
/// A 3-node RabbitMQ cluster on loopback for one test class: base port <c>FUZZ_TEST_CLUSTER_PORT</c>
/// or the first free one from 6791 on (beyond the range the single-node fixture searches), stopped
/// and deleted when the class is done, whether its tests passed or not.
/// </summary>
public sealed class ClusterFixture() : BrokerFixture(nodes: 3, firstPort: 6791, portVariable: "FUZZ_TEST_CLUSTER_PORT");

/// <summary>
/// A coordinator and a worker (in this process) on a 3-node cluster, both connected to node 1, and
/// node 1 killed with kill -9 while they fuzz: a minority, so every quorum queue and stream keeps a
/// majority and elects a new leader. In the broker collection so that it does not share the
/// machine with the other broker tests.
/// </summary>
[Collection("broker")]
public sealed class ClusterFaultTests(ClusterFixture cluster, ITestOutputHelper log) : IClassFixture<ClusterFixture>, IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly string _farm = "k" + Guid.NewGuid().ToString("n")[..12];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "fuzz-cluster-" + Guid.NewGuid().ToString("n"));
    private readonly Teardown _teardown = new();
    private readonly ConcurrentQueue<string> _log = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();

    public Task InitializeAsync()
    {
        _teardown.Dir(_root);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _teardown.DisposeAsync();
        foreach (var l in _log) log.WriteLine(l);
    }

    private void Say(string line) => _log.Enqueue($"{_clock.Elapsed.TotalSeconds,6:F1}s {line}");

    private RabbitMqTransport Transport(string role, string name)
    {
        var t = new RabbitMqTransport(cluster.Urls, _farm, new RabbitMqOptions
        {
            ConnectionName = ConnectionNames.Of(role, _farm, name), ShuffleNodes = false, Log = l => Say($"{name}: {l}"),
        });
        _teardown.Add(t);
        return t;
    }

    private async Task Until(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Patience);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}:\n{string.Join('\n', _log)}");
            await Task.Delay(50);
        }
        Say(what);
    }

    private static Dictionary<string, string> Decisions(string workDir)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        using var r = new StreamReader(new FileStream(Path.Combine(workDir, "inputs.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        while (r.ReadLine() is { } line)
            if (line.Split(' ') is [var decision, var name, ..]) d.TryAdd(name, decision);
        return d;
    }

    private static HashSet<string> Journal(string path) =>
        File.ReadAllLines(path).Where(l => l.StartsWith("input ")).Select(l => l["input ".Length..]).ToHashSet(StringComparer.Ordinal);

    private static HashSet<string> CorpusDir(string workDir) =>
        Directory.GetFiles(Path.Combine(workDir, "corpus", "mmu")).Select(f => Path.GetFileName(f)!).Where(n => !n.Contains(".tmp-")).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// Killed: node 1 of 3 (kill -9 of its Erlang VM), the node both the coordinator and the worker
    /// are connected to and where the farm's queues and streams were declared. Checked: both
    /// reconnect, the worker publishes and the coordinator accepts inputs after the kill; every input
    /// the worker's journal says the broker confirmed was decided by the coordinator; the accepted
    /// set (inputs.log) equals the corpus directory and the coordinator's corpus; and the merged-corpus
    /// stream, read again from offset 0 on the two remaining nodes, holds every input of the directory.
    /// </summary>
    [Fact]
    public async Task Killing_one_node_of_three_loses_no_accepted_input_and_both_nodes_carry_on()
    {
        string work = Directory.CreateDirectory(Path.Combine(_root, "coordinator")).FullName;
        string journal = Path.Combine(_root, "w1.journal");
        var factory = new TargetFactory();

        var coordinatorLink = Transport(ConnectionNames.Coordinator, "c1");
        var coordinator = new CoordinatorNode(new CoordinatorOptions("c1", work, "mmu", []) { WorkerTimeout = TimeSpan.FromSeconds(60), StatsInterval = null }, factory, coordinatorLink);
        coordinator.Log += l => Say($"c1: {l}");
        _teardown.Add(coordinator);
        await coordinator.StartAsync(default);

        var workerLink = Transport(ConnectionNames.Worker, "w1");
        var worker = new WorkerNode(new WorkerOptions("w1", 1, new FuzzOptions("mmu", FuzzStrategy.Coverage, 11, [])) { JournalPath = journal }, factory, workerLink);
        worker.Log += l => Say($"w1: {l}");
        _teardown.Add(worker);
        await worker.StartAsync(default);
        worker.StartLoops();

        await Until(() => coordinator.InputsAccepted >= 50, "50 inputs accepted before the kill");
        Assert.Equal(cluster.Port, coordinatorLink.ConnectedTo?.Port);
        Assert.Equal(cluster.Port, workerLink.ConnectedTo?.Port);

        var kill = await cluster.RunScriptAsync("kill-node", "1");
        Assert.True(kill.ExitCode == 0, $"kill-node 1 exited with {kill.ExitCode}: {kill.Stderr}");
        long acceptedAtKill = coordinator.InputsAccepted, publishedAtKill = worker.InputsPublished;
        Say($"killed node 1 (port {cluster.Port}) with {acceptedAtKill} inputs accepted and {publishedAtKill} published");

        await Until(() => coordinatorLink.Reconnects >= 1 && workerLink.Reconnects >= 1, "both to reconnect");
        Assert.NotEqual(cluster.Port, coordinatorLink.ConnectedTo?.Port);
        Assert.NotEqual(cluster.Port, workerLink.ConnectedTo?.Port);
        long acceptedAtReconnect = coordinator.InputsAccepted, publishedAtReconnect = worker.InputsPublished;
        await Until(() => worker.InputsPublished >= publishedAtReconnect + 20, "the worker to publish 20 more inputs after reconnecting", TimeSpan.FromSeconds(90));
        await Until(() => coordinator.InputsAccepted >= acceptedAtReconnect + 20, "the coordinator to accept 20 more inputs after reconnecting", TimeSpan.FromSeconds(90));
        await Task.Delay(TimeSpan.FromSeconds(15));
        Say($"fuzzed on two nodes: {coordinator.InputsAccepted - acceptedAtKill} inputs accepted since the kill, {worker.Session.Execs} execs in all");
        // Once for the kill, maybe again: a node whose stream replica is not running yet closes the connection of a reader (506 RESOURCE_ERROR).
        Say($"reconnections: coordinator {coordinatorLink.Reconnects}, worker {workerLink.Reconnects}");
        Assert.InRange(coordinatorLink.Reconnects, 1, 5);
        Assert.InRange(workerLink.Reconnects, 1, 5);
        Assert.Equal(WorkerState.Alive, coordinator.Workers.Single(w => w.Name == "w1").State);

        await worker.StopAsync(Patience);
        var published = Journal(journal);
        await Until(() => published.All(Decisions(work).ContainsKey), $"all {published.Count} published inputs to be decided");
        using (var idle = new CancellationTokenSource(Patience)) await coordinator.WaitIdleAsync(idle.Token);

        var accepted = Decisions(work).Where(d => d.Value == "accepted").Select(d => d.Key).ToHashSet(StringComparer.Ordinal);
        var corpus = CorpusDir(work);
        Say($"{published.Count} published, {accepted.Count} accepted, {corpus.Count} in the corpus directory");
        Assert.Equal(accepted, corpus);
        Assert.Equal(corpus.Count, coordinator.CorpusCount);
        await Until(() => coordinator.Workers.Single(w => w.Name == "w1").State == WorkerState.Left, "w1 to have left");

        await using var reader = new RabbitMqTransport(cluster.Urls, _farm);
        await reader.ConnectAsync(default);
        var logged = new ConcurrentDictionary<string, bool>(StringComparer.Ordinal);
        await using (await MergedCorpusLog.ReadNamesAsync(reader, logged))
            await Until(() => corpus.All(logged.ContainsKey), $"the corpus stream read from 0 to hold all {corpus.Count} inputs of the directory");
        Assert.Equal(corpus, logged.Keys.ToHashSet(StringComparer.Ordinal));
        Say($"done in {_clock.Elapsed.TotalSeconds:F0}s");
    }
}
