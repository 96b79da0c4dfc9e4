using System.Net;
using System.Net.Sockets;
using Xunit;
using Xunit.Abstractions;

namespace Fuzz.Tests.Farm;

/// <summary>
/// The farm as an Akka cluster of separate `fuzz` processes on loopback: what a worker reports ends
/// up merged and filed in the coordinator's work directory, every process stops cleanly on SIGTERM,
/// and when the active coordinator is killed the standby takes over with everything acknowledged.
/// </summary>
public sealed class ClusterProcessTests(ITestOutputHelper log) : IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);
    private const string Bug = "ro-unlock-empty";
    private readonly string _root = Directory.CreateTempSubdirectory("fuzz-cluster-proc-").FullName;
    private readonly List<FuzzProcess> _processes = new();

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            log.WriteLine($"--- {p.Name} ---\n{string.Join('\n', p.Lines.TakeLast(40))}");
            p.Dispose();
        }
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }

    private string Dir(string name) => Directory.CreateDirectory(Path.Combine(_root, name)).FullName;

    private FuzzProcess Start(string name, params string[] args)
    {
        var p = new FuzzProcess(name, args);
        _processes.Add(p);
        return p;
    }

    private FuzzProcess Coordinator(string name, int port, string workDir, params string[] join) =>
        Start(name, ["coordinator", "--listen", $"127.0.0.1:{port}", .. join.Length > 0 ? new[] { "--join", string.Join(',', join) } : [],
            "--workdir", workDir, "--name", name, "--bug", Bug, "--minimize-seconds", "3"]);

    private FuzzProcess Worker(string name, string journal, params string[] join) =>
        Start(name, ["worker", "--listen", "127.0.0.1:0", "--join", string.Join(',', join), "--name", name, "--jobs", "1", "--bug", Bug, "--journal", journal]);

    private static HashSet<string> Journal(string path, string kind) =>
        File.Exists(path) ? File.ReadAllLines(path).Where(l => l.StartsWith(kind + " ")).Select(l => l[(kind.Length + 1)..]).ToHashSet(StringComparer.Ordinal) : [];

    private static HashSet<string> Corpus(string workDir) =>
        Directory.GetFiles(Path.Combine(workDir, "corpus", "mmu")).Select(f => Path.GetFileName(f)!).Where(n => !n.Contains(".tmp-")).ToHashSet(StringComparer.Ordinal);

    /// <summary>inputs.log: "accepted|redundant &lt;name&gt; &lt;worker&gt;" per input decided.</summary>
    private static Dictionary<string, string> Decisions(string workDir)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        string path = Path.Combine(workDir, "inputs.log");
        if (!File.Exists(path)) return d;
        foreach (var line in File.ReadAllLines(path))
        {
            var parts = line.Split(' ');
            if (parts.Length >= 2) d.TryAdd(parts[1], parts[0]);
        }
        return d;
    }

    private static string[] Filed(string workDir) =>
        Directory.Exists(Path.Combine(workDir, "crashes"))
            ? Directory.GetDirectories(Path.Combine(workDir, "crashes")).Where(d => File.Exists(Path.Combine(d, "report.json")) && File.Exists(Path.Combine(d, "minimized"))).ToArray()
            : [];

    /// <summary>Random bytes, then a frame header that promises more than follows, on the node's port.</summary>
    private static async Task SendGarbage(int port)
    {
        var random = new Random(15);
        foreach (int n in new[] { 4096, 3 })
        {
            using var client = new TcpClient();
            await client.ConnectAsync(IPAddress.Loopback, port);
            var bytes = new byte[n];
            random.NextBytes(bytes);
            if (n == 3) bytes = [0, 0, 0x10, 0, 1, 2, 3];
            try { await client.GetStream().WriteAsync(bytes); } catch (IOException) { }
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_worker_reports_to_the_coordinator_which_merges_and_files_a_late_worker_gets_the_merged_corpus_and_all_stop_on_SIGTERM()
    {
        int port = FreePort();
        string work = Dir("c1"), journal = Path.Combine(_root, "w1.journal");
        var c = Coordinator("c1", port, work);
        await c.WaitForLine(l => l.Contains("c1: active coordinator"), Long, "the coordinator singleton");
        await SendGarbage(port);
        var foreign = Start("wx", "worker", "--listen", "127.0.0.1:0", "--join", $"127.0.0.1:{port}", "--name", "wx", "--jobs", "1");
        var w = Worker("w1", journal, $"127.0.0.1:{port}");
        await c.WaitForLine(l => l.Contains("worker w1 reporting"), Long, "the worker's first report");
        await c.WaitForLine(l => l.StartsWith("filed inv4-"), Long, "the seeded crash filed");
        await Task.Delay(1000);

        // A worker that joins late gets the merged corpus as it was when it joined.
        int merged = int.Parse(c.Lines.Last(l => l.Contains(" pulse ")).Split("corp: ")[1].Split(' ')[0]);
        var late = Worker("w2", Path.Combine(_root, "w2.journal"), $"127.0.0.1:{port}");
        await late.WaitForLine(l => l.Contains(" pulse ") && int.Parse(l.Split("received: ")[1].Split(' ')[0]) >= merged, Long, $"the {merged} merged inputs");
        Assert.Equal(0, late.Terminate(Long));

        Assert.Equal(0, w.Terminate(Long));
        Assert.Contains(w.Lines, l => l.Contains("w1: stopped after") && l.Contains(", 0 unacknowledged"));
        // A worker of another campaign (no --bug) is told so and stops.
        await foreign.WaitForLine(l => l.Contains("wx: refused by c1: this farm runs campaign mmu+ro-unlock-empty"), Long, "the refusal");
        for (int i = 0; i < 200 && !foreign.Exited; i++) await Task.Delay(50);
        Assert.True(foreign.Exited, "the refused worker is still running");
        Assert.Equal(1, foreign.Terminate(Long));
        Assert.Equal(0, c.Terminate(Long));

        var inputs = Journal(journal, "input");
        var decisions = Decisions(work);
        var corpus = Corpus(work);
        log.WriteLine($"{inputs.Count} inputs acknowledged, {decisions.Count} decided, {corpus.Count} in the corpus, {Filed(work).Length} crashes filed");
        Assert.NotEmpty(inputs);
        Assert.All(inputs, i => Assert.True(decisions.ContainsKey(i), $"{i} was acknowledged but never decided"));
        Assert.All(decisions.Where(d => d.Value == "accepted"), d => Assert.Contains(d.Key, corpus));
        Assert.NotEmpty(Journal(journal, "crash"));
        Assert.NotEmpty(Filed(work));
    }

    [Fact]
    public async Task The_standby_takes_over_when_the_active_coordinator_is_killed_and_nothing_acknowledged_is_lost()
    {
        int a = FreePort(), b = FreePort();
        string workA = Dir("a"), workB = Dir("b"), journal = Path.Combine(_root, "w.journal");
        var ca = Coordinator("ca", a, workA);
        await ca.WaitForLine(l => l.Contains("ca: active coordinator"), Long, "the coordinator singleton");
        var cb = Coordinator("cb", b, workB, $"127.0.0.1:{a}");
        var w = Worker("w", journal, $"127.0.0.1:{a}", $"127.0.0.1:{b}");
        await ca.WaitForLine(l => l.StartsWith("filed inv4-"), Long, "the seeded crash filed");
        await cb.WaitForLine(l => l.Contains("copied from ca"), Long, "the crash copied to the standby");
        await Task.Delay(1000);

        ca.Kill9();
        var killed = DateTime.UtcNow;
        await cb.WaitForLine(l => l.Contains("cb: active coordinator"), Long, "the standby taking over");
        double takeover = (DateTime.UtcNow - killed).TotalSeconds;
        log.WriteLine($"standby active {takeover:F1}s after kill -9");
        await cb.WaitForLine(l => l.Contains("worker w reporting"), Long, "the worker reporting to the new coordinator");
        await Task.Delay(2000);

        Assert.Equal(0, w.Terminate(Long));
        Assert.Contains(w.Lines, l => l.Contains("w: stopped after") && l.Contains(", 0 unacknowledged"));
        Assert.Equal(0, cb.Terminate(Long));

        var inputs = Journal(journal, "input");
        var decidedA = Decisions(workA);
        var decidedB = Decisions(workB);
        var corpusB = Corpus(workB);
        log.WriteLine($"{inputs.Count} inputs acknowledged; ca decided {decidedA.Count}, cb {decidedB.Count}, cb's corpus {corpusB.Count}");
        Assert.True(takeover < 25, $"the standby took {takeover:F1}s");
        // Everything acknowledged was decided by one of them, and everything either accepted is in the survivor's corpus.
        Assert.All(inputs, i => Assert.True(decidedA.ContainsKey(i) || decidedB.ContainsKey(i), $"{i} was acknowledged but never decided"));
        Assert.All(decidedA.Where(d => d.Value == "accepted"), d => Assert.Contains(d.Key, corpusB));
        Assert.All(decidedB.Where(d => d.Value == "accepted"), d => Assert.Contains(d.Key, corpusB));
        Assert.Equal(Filed(workA).Select(Path.GetFileName).Order(), Filed(workB).Select(Path.GetFileName).Intersect(Filed(workA).Select(Path.GetFileName)).Order());
    }

    private static void Signal(FuzzProcess p, string signal) => System.Diagnostics.Process.Start("kill", [$"-{signal}", p.Pid.ToString()])!.WaitForExit();

    [Fact]
    public async Task A_coordinator_frozen_past_stable_after_is_downed_and_exits_when_it_thaws_while_the_standby_coordinates()
    {
        int a = FreePort(), b = FreePort();
        string workA = Dir("a"), workB = Dir("b"), journal = Path.Combine(_root, "w.journal");
        var ca = Coordinator("ca", a, workA);
        await ca.WaitForLine(l => l.Contains("ca: active coordinator"), Long, "the coordinator singleton");
        var cb = Coordinator("cb", b, workB, $"127.0.0.1:{a}");
        var w = Worker("w", journal, $"127.0.0.1:{a}", $"127.0.0.1:{b}");
        await ca.WaitForLine(l => l.Contains("worker w reporting"), Long, "the worker reporting");
        await cb.WaitForLine(l => l.Contains("cluster: worker"), Long, "the standby seeing the worker");
        await w.WaitForLine(l => l.Contains($"cluster: coordinator 127.0.0.1:{b} is up"), Long, "the worker seeing the standby up");
        await w.WaitForLine(l => l.Contains("cluster: worker"), Long, "the worker seeing itself up");

        Signal(ca, "STOP");
        try
        {
            await cb.WaitForLine(l => l.Contains("cb: active coordinator"), Long, "the standby taking over");
        }
        finally
        {
            Signal(ca, "CONT");
        }
        await ca.WaitForLine(l => l.Contains("removed from the cluster"), Long, "the thawed coordinator noticing it was downed");
        for (int i = 0; i < 200 && !ca.Exited; i++) await Task.Delay(50);
        Assert.True(ca.Exited, "the downed coordinator is still running");
        Assert.Contains(ca.Lines, l => l.Contains("ca: no longer the active coordinator"));
        await cb.WaitForLine(l => l.Contains("worker w reporting"), Long, "the worker reporting to the new coordinator");

        Assert.Equal(0, w.Terminate(Long));
        Assert.Contains(w.Lines, l => l.Contains("w: stopped after") && l.Contains(", 0 unacknowledged"));
        Assert.Equal(0, cb.Terminate(Long));
        var inputs = Journal(journal, "input");
        var decidedA = Decisions(workA);
        var decidedB = Decisions(workB);
        var corpusB = Corpus(workB);
        Assert.All(inputs, i => Assert.True(decidedA.ContainsKey(i) || decidedB.ContainsKey(i), $"{i} was acknowledged but never decided"));
        Assert.All(decidedA.Where(d => d.Value == "accepted"), d => Assert.Contains(d.Key, corpusB));
    }
}
