using System.Collections.Concurrent;
using System.Text.Json;
using Fuzz.Cli.Farm;
using Fuzz.Coordinator.Replay;
using Fuzz.Engine.Input;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.RabbitMq;
using Fuzz.Targets;
using Fuzz.Targets.Mmu;
using Fuzz.Tests.Transport;
using Xunit;
using Xunit.Abstractions;

namespace Fuzz.Tests.Farm;

/// <summary>
/// The farm as separate `fuzz` processes on a real RabbitMQ broker: end to end, and what is lost
/// (nothing) when a worker, the active coordinator or the broker itself goes away.
/// </summary>
[Collection("broker")]
public sealed class FarmProcessTests(BrokerFixture broker, ITestOutputHelper log) : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(120);
    private readonly string _farm = "p" + Guid.NewGuid().ToString("n")[..12];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "fuzz-farm-proc-" + Guid.NewGuid().ToString("n"));
    private readonly List<FuzzProcess> _processes = new();

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            log.WriteLine($"--- {p.Name} ---\n{string.Join('\n', p.Lines.TakeLast(40))}");
            p.Dispose();
        }
        try { await broker.DeleteFarmAsync(_farm); } catch (Exception e) when (e is not OutOfMemoryException) { log.WriteLine($"could not delete farm: {e.Message}"); }
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private string Dir(string name) => Directory.CreateDirectory(Path.Combine(_root, name)).FullName;

    private FuzzProcess Start(string name, params string[] args)
    {
        var p = new FuzzProcess(name, [.. args, "--broker", broker.Urls, "--farm", _farm]);
        _processes.Add(p);
        return p;
    }

    private async Task<FuzzProcess> Coordinator(string name, string workDir, params string[] extra)
    {
        var p = Start(name, ["coordinator", "--workdir", workDir, "--name", name, "--minimize-seconds", "5", .. extra]);
        await p.WaitForLine(l => l.Contains("waiting for the events queue"), Long, "start-up");
        return p;
    }

    private async Task<FuzzProcess> Worker(string name, string? journal, params string[] extra)
    {
        var args = new List<string> { "worker", "--name", name, "--jobs", "1" };
        if (journal is not null) args.AddRange(["--journal", journal]);
        var p = Start(name, [.. args, .. extra]);
        await p.WaitForLine(l => l.Contains("connected to"), Long, "connection");
        return p;
    }

    private static HashSet<string> Journal(string path, string kind) =>
        File.Exists(path) ? File.ReadAllLines(path).Where(l => l.StartsWith(kind + " ")).Select(l => l[(kind.Length + 1)..]).ToHashSet(StringComparer.Ordinal) : [];

    /// <summary>Accepted inputs are durable in the coordinator's log first; their files are written in the background.</summary>
    private static Task FilesWritten(string workDir) =>
        Until(() => Corpus(workDir).IsSupersetOf(Decisions(workDir).Where(d => d.Value == "accepted").Select(d => d.Key)), "the accepted inputs' files to be written");

    private static HashSet<string> Corpus(string workDir) =>
        Directory.GetFiles(Path.Combine(workDir, "corpus", "mmu")).Select(f => Path.GetFileName(f)!).Where(n => !n.Contains(".tmp-")).ToHashSet(StringComparer.Ordinal);

    /// <summary>inputs.log: "accepted|redundant &lt;name&gt; &lt;worker&gt;" per input the coordinator received.</summary>
    private static Dictionary<string, string> Decisions(string workDir)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        string path = Path.Combine(workDir, "inputs.log");
        if (!File.Exists(path)) return d;
        using var r = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        while (r.ReadLine() is { } line)
        {
            var parts = line.Split(' ');
            if (parts.Length >= 2 && !d.ContainsKey(parts[1])) d[parts[1]] = parts[0];
        }
        return d;
    }

    private static async Task Until(Func<bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? Long);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"timed out waiting for {what}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task Two_worker_processes_find_a_seeded_bug_and_the_coordinator_files_it_once_minimised()
    {
        string work = Dir("coordinator"), j1 = Path.Combine(_root, "w1.journal"), j2 = Path.Combine(_root, "w2.journal");
        var c = await Coordinator("c1", work, "--bug", "stale-fault");
        var w1 = await Worker("w1", j1, "--bug", "stale-fault");
        var w2 = await Worker("w2", j2, "--bug", "stale-fault");
        await Until(() => Journal(j1, "crash").Count > 0 && Journal(j2, "crash").Count > 0, "both workers to report a crash");
        string crashes = Path.Combine(work, "crashes");
        await Until(() => Directory.GetDirectories(crashes).Any(d => File.Exists(Path.Combine(d, "report.md"))), "a filed crash");
        await Until(() => c.Output.Contains("filed ") && Stats(work) is { } s && s.GetProperty("crash_duplicates").GetInt32() >= 1, "a duplicate report to be recognised");
        Assert.Equal(0, w1.Interrupt(Long));
        Assert.Equal(0, w2.Interrupt(Long));

        var received = Directory.GetFiles(Path.Combine(work, "crashes-received")).Select(f => Path.GetFileName(f)!).ToHashSet();
        Assert.Subset(received, Journal(j1, "crash"));
        Assert.Subset(received, Journal(j2, "crash"));
        var reports = Directory.GetDirectories(crashes).Where(d => File.Exists(Path.Combine(d, "report.json")))
            .Select(d => JsonDocument.Parse(File.ReadAllText(Path.Combine(d, "report.json"))).RootElement).ToList();
        Assert.NotEmpty(reports);
        Assert.True(reports.Count < Journal(j1, "crash").Count + Journal(j2, "crash").Count, "every report filed as a crash of its own");
        foreach (var r in reports)
        {
            Assert.InRange(r.GetProperty("After").GetProperty("Ops").GetInt32(), 1, r.GetProperty("Before").GetProperty("Ops").GetInt32());
            Assert.InRange(r.GetProperty("After").GetProperty("Preemptions").GetInt32(), 0, 2);
            Assert.Contains(r.GetProperty("FoundBy").GetString(), new[] { "w1", "w2" });
        }
        Assert.Contains("worker w1 joined", c.Output);
        Assert.Contains("worker w2 joined", c.Output);
        Assert.Equal(0, c.Interrupt(Long));
    }

    private static JsonElement? Stats(string workDir)
    {
        string path = Path.Combine(workDir, "stats.jsonl");
        if (!File.Exists(path)) return null;
        using var r = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        string? last = null;
        while (r.ReadLine() is { } l) if (l.Length > 0) last = l;
        return last is null ? null : JsonDocument.Parse(last).RootElement;
    }

    /// <summary>
    /// Killed: a worker process (kill -9) while fuzzing. Compared: every input and crash its journal
    /// says the broker confirmed against the coordinator's decisions and work directory.
    /// </summary>
    [Fact]
    public async Task Kill_9_of_a_worker_loses_nothing_it_had_published()
    {
        string work = Dir("coordinator"), j1 = Path.Combine(_root, "w1.journal");
        var c = await Coordinator("c1", work, "--worker-timeout", "2");
        var w1 = await Worker("w1", j1);
        await Until(() => Journal(j1, "input").Count >= 300, "300 inputs published by w1");
        w1.Kill9();
        var published = Journal(j1, "input");
        log.WriteLine($"w1 had {published.Count} inputs confirmed when it was killed");
        await c.WaitForLine(l => l.Contains("worker w1 lost"), Long, "w1 to be noticed lost");
        await Until(() => published.All(Decisions(work).ContainsKey), "every published input to be decided");
        await FilesWritten(work);
        var decisions = Decisions(work);
        var corpus = Corpus(work);
        Assert.All(published.Where(n => decisions[n] == "accepted"), n => Assert.Contains(n, corpus));
        Assert.Equal(decisions.Where(d => d.Value == "accepted").Select(d => d.Key).ToHashSet(), corpus);
        Assert.Equal(0, c.Interrupt(Long));
    }

    /// <summary>
    /// Killed: a worker process (kill -9), under a coordinator whose heartbeat timeout is 60 s.
    /// Checked: the coordinator logs the worker lost because of the broker's connection.closed event
    /// within 10 s of the kill, and never because of silence.
    /// </summary>
    [Fact]
    public async Task Kill_9_of_a_worker_is_noticed_from_the_broker_event_long_before_the_heartbeat_timeout()
    {
        string work = Dir("coordinator");
        var c = await Coordinator("c1", work, "--worker-timeout", "60");
        var w1 = await Worker("w1", null);
        await c.WaitForLine(l => l.Contains("worker w1 joined"), Long, "w1 to join");
        await Until(() => Corpus(work).Count >= 20, "20 inputs accepted from w1");
        var killed = System.Diagnostics.Stopwatch.StartNew();
        w1.Kill9();
        string lost = await c.WaitForLine(l => l.Contains("worker w1 lost"), TimeSpan.FromSeconds(10), "w1 to be noticed lost within 10 s");
        log.WriteLine($"killed w1 (pid {w1.Pid}); the coordinator said \"{lost}\" {killed.Elapsed.TotalSeconds:F1} s later");
        Assert.Contains("worker w1 lost: connection closed (broker event)", lost);
        await Task.Delay(2000);
        Assert.DoesNotContain(c.Lines, l => l.Contains("worker w1 is back") || l.Contains("nothing from it"));
        Assert.Equal(0, c.Interrupt(Long));
    }

    /// <summary>Killed: the worker holding a replay task (kill -9). Compared: the task's result, which another worker must produce.</summary>
    [Fact]
    public async Task Kill_9_of_a_worker_mid_task_has_the_task_redone_by_another_worker()
    {
        var w1 = await Worker("w1", null);
        var vocab = MmuTarget.Vocabulary;
        var items = Enumerable.Range(0, 30_000).Select(i => new NightlyReplay.Item($"p{i}", "corpus",
            MmuTarget.Codec.Encode(ProgramGenerator.Random(vocab, (ulong)i + 1, 12, 0)), "")).ToList();
        var replay = NightlyReplays.Create(new TargetFactory(), "mmu", []);
        await using var transport = new RabbitMqTransport(broker.Url, _farm);
        var run = replay.RunOnWorkersAsync(transport, items, items.Count, TimeSpan.FromMinutes(5), default);
        await w1.WaitForLine(l => l.Contains("task replay-") && l.Contains("started"), Long, "w1 to take the task");
        w1.Kill9();
        Assert.DoesNotContain(w1.Lines, l => l.Contains("finished"));
        var w2 = await Worker("w2", null);
        var (entries, _) = await run;
        Assert.Equal(items.Count, entries.Count);
        Assert.All(entries, e => Assert.Equal("w2", e.By));
        Assert.All(entries, e => Assert.False(e.Fails));
        Assert.Contains(w2.Lines, l => l.Contains("started") && l.Contains("redelivered"));
        Assert.Equal(0, w2.Interrupt(Long));
    }

    /// <summary>
    /// Killed: the active coordinator (kill -9) while a worker fuzzes. Compared: the standby's corpus
    /// directory afterwards with the union of what both accepted, and the worker's journal with both
    /// coordinators' decisions.
    /// </summary>
    [Fact]
    public async Task Kill_9_of_the_active_coordinator_hands_over_to_the_standby_with_the_union_of_the_corpus()
    {
        string workA = Dir("a"), workB = Dir("b"), j1 = Path.Combine(_root, "w1.journal");
        var a = await Coordinator("A", workA);
        var b = await Coordinator("B", workB, "--standby");
        var w1 = await Worker("w1", j1);
        await Until(() => Corpus(workA).Count >= 200, "A to accept 200 inputs");
        a.Kill9();
        // What A would find on restart: the files its write-ahead log holds but a crash left unwritten.
        using (var wal = new Fuzz.Engine.Corpus.CorpusWal(Path.Combine(workA, "accepted.wal"), new Fuzz.Engine.Corpus.CorpusStore(Path.Combine(workA, "corpus", "mmu"))))
            log.WriteLine($"A's log: {wal.Records} records, {wal.Recovered} files written on recovery");
        int byA = Corpus(workA).Count;
        await b.WaitForLine(l => l.Contains("B: active"), Long, "B to take over");
        await Until(() => Decisions(workB).Count(d => d.Value == "accepted") >= 20, "B to accept inputs itself");
        Assert.Equal(0, w1.Interrupt(Long));
        var published = Journal(j1, "input");
        await Until(() => published.All(n => Decisions(workA).ContainsKey(n) || Decisions(workB).ContainsKey(n)), "every published input to be decided by A or B");
        // B writes its corpus files in the background; a clean stop writes every one queued.
        Assert.Equal(0, b.Interrupt(Long));

        var union = Corpus(workA);
        union.UnionWith(Decisions(workB).Where(d => d.Value == "accepted").Select(d => d.Key));
        Assert.Equal(union, Corpus(workB));
        Assert.Subset(Corpus(workB), Corpus(workA));
        log.WriteLine($"A accepted {byA}, B ended with {Corpus(workB).Count}");
    }

    /// <summary>
    /// Restarted: the broker node, under a running coordinator and worker. Compared: the worker's
    /// journal with the coordinator's decisions, its corpus directory with its accepted inputs, and
    /// the merged-corpus log (read again from the start) with the corpus directory.
    /// </summary>
    [Fact]
    public async Task A_broker_restart_is_survived_and_no_accepted_input_is_lost()
    {
        string work = Dir("coordinator"), j1 = Path.Combine(_root, "w1.journal");
        var c = await Coordinator("c1", work, "--worker-timeout", "60");
        var w1 = await Worker("w1", j1);
        await Until(() => Journal(j1, "input").Count >= 100, "100 inputs published");
        await broker.StopAsync();
        await Task.Delay(2000);
        await broker.StartAsync();
        int before = Journal(j1, "input").Count;
        await Until(() => Journal(j1, "input").Count >= before + 50, "the worker to publish again after the restart");
        int acceptedBefore = Corpus(work).Count;
        await Until(() => Corpus(work).Count > acceptedBefore, "the coordinator to accept again after the restart");
        Assert.Equal(0, w1.Interrupt(Long));
        var published = Journal(j1, "input");
        await Until(() => published.All(Decisions(work).ContainsKey), "every published input to be decided");
        await FilesWritten(work);
        Assert.Equal(Decisions(work).Where(d => d.Value == "accepted").Select(d => d.Key).ToHashSet(), Corpus(work));

        await using var t = new RabbitMqTransport(broker.Url, _farm);
        await t.ConnectAsync(default);
        var logged = new ConcurrentDictionary<string, bool>();
        await using (await MergedCorpusLog.ReadNamesAsync(t, logged))
        {
            var corpus = Corpus(work);
            await Until(() => corpus.All(logged.ContainsKey), "the merged-corpus log to hold every accepted input");
        }
        Assert.Equal(0, c.Interrupt(Long));
    }
}
