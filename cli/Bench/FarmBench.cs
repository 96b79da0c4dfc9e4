using System.Collections.Concurrent;
using System.Diagnostics;
using Fuzz.Cli.Commands;
using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Embedded;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.RabbitMq;
using Fuzz.Engine.Transport.Wire;
using Fuzz.Worker.Node;
using Google.Protobuf;

namespace Fuzz.Cli.Bench;

public sealed record FarmBenchOptions(string Target, string? Broker, double Seconds, double Warmup, int Runs, int Messages, ulong Seed, IReadOnlyCollection<string> Bugs);

/// <summary><paramref name="Seconds"/>: until the last message was acknowledged (its input durable in the coordinator's log); <paramref name="FilesSeconds"/>: until every accepted input's file was written.</summary>
public sealed record MergeRun(string Transport, int Messages, double Seconds, double MessagesPerSecond, double PublishPerSecond, long Accepted, int CorpusFiles, double FilesSeconds);

public sealed record FarmRun(
    string Transport, int Workers, double Seconds, double ExecsPerSecond, IReadOnlyList<double> PerWorker, long Accepted,
    long LatencySamples, double? P50Ms, double? P99Ms, long RunLatencySamples, double? RunP50Ms, double? RunP99Ms);

/// <summary>
/// fuzz bench --farm: the coordinator draining a backlog of single-input messages (merge
/// throughput), and a coordinator with 1 and 2 workers fuzzing for a fixed window (aggregate
/// execs/s from the workers' heartbeats, corpus propagation latency from their histograms), on the
/// embedded transport and, given a broker, on RabbitMQ with the workers as separate processes.
/// </summary>
public sealed class FarmBench(FarmBenchOptions options, TextWriter output)
{
    private static readonly TimeSpan JoinTimeout = TimeSpan.FromSeconds(60);

    // Work directories are removed when the whole bench is over: ext4 skips inodes freed in the last
    // few seconds when it allocates new ones, and after a merge run's 50,000 files are deleted, every
    // file the next run creates walks past them (0.4 ms of kernel time per file instead of 0.03).
    private readonly List<string> _workDirs = new();

    private bool HasBroker => options.Broker is not null;

    public async Task<(List<MergeRun> Merges, List<FarmRun> Farms)> RunAsync(CancellationToken cancel)
    {
        try
        {
            return await RunAllAsync(cancel).ConfigureAwait(false);
        }
        finally
        {
            foreach (var d in _workDirs) TryDelete(d);
        }
    }

    private async Task<(List<MergeRun> Merges, List<FarmRun> Farms)> RunAllAsync(CancellationToken cancel)
    {
        var merges = new List<MergeRun>();
        var farms = new List<FarmRun>();
        var transports = HasBroker ? new[] { "embedded", "rabbitmq" } : ["embedded"];
        for (int r = 0; r < options.Runs; r++)
            foreach (var t in transports)
            {
                var m = await MergeAsync(t, cancel).ConfigureAwait(false);
                merges.Add(m);
                output.WriteLine($"run {r + 1}: merge  {t,-9} {m.Messages:N0} messages in {m.Seconds:F2}s = {m.MessagesPerSecond,9:N0} msgs/s merged ({m.Accepted:N0} accepted; their {m.CorpusFiles:N0} corpus files written after {m.FilesSeconds:F2}s; backlog published at {m.PublishPerSecond:N0} msgs/s)");
            }
        for (int r = 0; r < options.Runs; r++)
            foreach (int w in new[] { 1, 2 })
                foreach (var t in transports)
                {
                    var f = await FuzzAsync(t, w, cancel).ConfigureAwait(false);
                    farms.Add(f);
                    output.WriteLine($"run {r + 1}: fuzz   {t,-9} {w} worker{(w > 1 ? "s" : " ")} {f.ExecsPerSecond,9:N0} execs/s over {f.Seconds:F1}s ({string.Join(" + ", f.PerWorker.Select(x => x.ToString("N0")))})" +
                        (w > 1 ? $", propagation p50 {Ms(f.P50Ms)} p99 {Ms(f.P99Ms)} ({f.LatencySamples} samples; whole run p50 {Ms(f.RunP50Ms)} p99 {Ms(f.RunP99Ms)}, {f.RunLatencySamples})" : ""));
                }
        return (merges, farms);
    }

    private static string Ms(double? v) => v is { } x ? $"{x:0} ms" : "-";

    private string TempDir(string what)
    {
        string d = Path.Combine(Path.GetTempPath(), $"fuzz-bench-{what}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(d);
        _workDirs.Add(d);
        return d;
    }

    /// <summary>Opens connections to one fresh farm on the transport; the returned action removes it.</summary>
    private (Func<ITransport> Open, Func<Task> Delete, string Farm) Farm(string transport)
    {
        string farm = $"bench-{Guid.NewGuid():N}"[..14];
        if (transport == "embedded")
        {
            var broker = new EmbeddedBroker();
            return (() => new EmbeddedTransport(broker), () => Task.CompletedTask, farm);
        }
        return (() => new RabbitMqTransport(options.Broker!, farm), async () =>
        {
            await using var t = new RabbitMqTransport(options.Broker!, farm);
            await t.ConnectAsync(CancellationToken.None).ConfigureAwait(false);
            await t.DeleteTopologyAsync(CancellationToken.None).ConfigureAwait(false);
        }, farm);
    }

    /// <summary>
    /// Message 0 carries 1,000 features; then every odd message adds one feature (accepted, written,
    /// appended to the merged corpus) and every even one only repeats known features (redundant).
    /// Each message holds one input of 64-256 random bytes (any byte string is a program) and 8 feature ids.
    /// </summary>
    private List<byte[]> Backlog(EnvelopeFactory envelopes)
    {
        var rng = new Random(unchecked((int)options.Seed));
        var list = new List<byte[]>(options.Messages);
        for (int i = 0; i < options.Messages; i++)
        {
            var data = new byte[rng.Next(64, 257)];
            rng.NextBytes(data);
            var input = new Input { Data = ByteString.CopyFrom(data), FoundAtExec = i };
            if (i == 0) input.Features.AddRange(Enumerable.Range(0, 1000).Select(x => (uint)x));
            else
            {
                for (int k = 0; k < 7; k++) input.Features.Add((uint)rng.Next(0, 1000));
                input.Features.Add(i % 2 == 1 ? (uint)(10_000 + i) : (uint)rng.Next(0, 1000));
            }
            var env = envelopes.New();
            env.NewInputs = new NewInputs { Inputs = { input } };
            list.Add(FarmWire.Encode(env));
        }
        return list;
    }

    private long ExpectedAccepted => 1 + options.Messages / 2;

    private async Task<MergeRun> MergeAsync(string transport, CancellationToken cancel)
    {
        var (open, delete, _) = Farm(transport);
        string work = TempDir("merge");
        try
        {
            var campaign = FarmWire.Campaign(options.Target, options.Bugs);
            var backlog = Backlog(new EnvelopeFactory("bench-publisher", campaign));
            await using var publisher = open();
            await publisher.ConnectAsync(cancel).ConfigureAwait(false);
            var pub = Stopwatch.StartNew();
            await publisher.PublishAsync(Topology.Events, backlog[0], cancel).ConfigureAwait(false);
            int next = 0;
            await Task.WhenAll(Enumerable.Range(0, 256).Select(async _ =>
            {
                for (int i; (i = Interlocked.Increment(ref next)) < backlog.Count;)
                    await publisher.PublishAsync(Topology.Events, backlog[i], cancel).ConfigureAwait(false);
            })).ConfigureAwait(false);
            double publishRate = backlog.Count / pub.Elapsed.TotalSeconds;

            await using var link = open();
            var node = new CoordinatorNode(
                new CoordinatorOptions("bench-coordinator", work, options.Target, options.Bugs) { LoadWorkDirCorpus = false, MinimizeOnWorkers = false, StatsInterval = null },
                Targets.Factory, link);
            await using (node.ConfigureAwait(false))
            {
                var started = node.StartAsync(cancel);
                var clock = Stopwatch.StartNew();
                while (node.Messages == 0)
                {
                    if (started.IsFaulted) await started.ConfigureAwait(false);
                    if (clock.Elapsed > JoinTimeout) throw new TimeoutException("the coordinator took no message within 60 s");
                    await Task.Delay(1, cancel).ConfigureAwait(false);
                }
                var t0 = Stopwatch.GetTimestamp();
                while (node.Messages < backlog.Count) await Task.Delay(1, cancel).ConfigureAwait(false);
                await started.ConfigureAwait(false);
                await node.WaitIdleAsync(cancel, files: false).ConfigureAwait(false);
                double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                await node.Wal.WaitWrittenAsync(cancel).ConfigureAwait(false);
                double filesSeconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                int files = Directory.GetFiles(node.Store.Dir).Length;
                if (node.InputsAccepted != ExpectedAccepted || files != ExpectedAccepted)
                    throw new InvalidOperationException($"merge on {transport}: {node.InputsAccepted} accepted and {files} corpus files, expected {ExpectedAccepted}");
                return new MergeRun(transport, backlog.Count, seconds, backlog.Count / seconds, publishRate, node.InputsAccepted, files, filesSeconds);
            }
        }
        finally
        {
            await delete().ConfigureAwait(false);
        }
    }

    private async Task<FarmRun> FuzzAsync(string transport, int workers, CancellationToken cancel)
    {
        var (open, delete, farm) = Farm(transport);
        string work = TempDir("fuzz");
        var inProcess = new List<(WorkerNode Node, ITransport Link)>();
        var processes = new List<WorkerProcess>();
        try
        {
            await using var link = open();
            var node = new CoordinatorNode(
                new CoordinatorOptions("bench-coordinator", work, options.Target, options.Bugs) { LoadWorkDirCorpus = false, StatsInterval = null },
                Targets.Factory, link);
            await using (node.ConfigureAwait(false))
            {
                await node.StartAsync(cancel).ConfigureAwait(false);
                var names = Enumerable.Range(1, workers).Select(i => $"bench-w{i}").ToList();
                for (int i = 0; i < workers; i++)
                {
                    ulong seed = options.Seed + (ulong)i;
                    if (transport == "embedded")
                    {
                        var wl = open();
                        var w = new WorkerNode(new WorkerOptions(names[i], 1, new FuzzOptions(options.Target, FuzzStrategy.Coverage, seed, options.Bugs.ToList())) { Tasks = false }, Targets.Factory, wl);
                        inProcess.Add((w, wl));
                        await w.StartAsync(cancel).ConfigureAwait(false);
                        w.StartLoops();
                    }
                    else processes.Add(WorkerProcess.Start(options.Broker!, farm, names[i], seed, options.Bugs));
                }
                var deadline = DateTime.UtcNow + JoinTimeout;
                while (node.Workers.Count(w => names.Contains(w.Name) && w.Last.Execs > 0) < workers)
                {
                    if (DateTime.UtcNow > deadline || processes.Any(p => p.Exited))
                        throw new InvalidOperationException($"fuzz on {transport}: workers did not start within {JoinTimeout.TotalSeconds}s\n{string.Join("\n", processes.Select(p => p.Tail))}");
                    await Task.Delay(50, cancel).ConfigureAwait(false);
                }
                await Task.Delay(TimeSpan.FromSeconds(options.Warmup), cancel).ConfigureAwait(false);
                var before = Snapshot(node, names);
                await Task.Delay(TimeSpan.FromSeconds(options.Seconds), cancel).ConfigureAwait(false);
                var after = await NextHeartbeats(node, names, after: before, cancel).ConfigureAwait(false);

                var perWorker = new List<double>();
                var window = new LatencyHistogram();
                var run = new LatencyHistogram();
                double seconds = 0;
                foreach (var n in names)
                {
                    var (b, a) = (before[n], after[n]);
                    double s = (a.LastSentUnixMs - b.LastSentUnixMs) / 1000.0;
                    seconds = Math.Max(seconds, s);
                    perWorker.Add((a.Last.Execs - b.Last.Execs) / Math.Max(1e-3, s));
                    var end = new LatencyHistogram(a.Last.PropagationMs);
                    window.Merge(end.Since(new LatencyHistogram(b.Last.PropagationMs)));
                    run.Merge(end);
                }
                return new FarmRun(transport, workers, seconds, perWorker.Sum(), perWorker, node.InputsAccepted,
                    window.Count, window.FinitePercentile(50), window.FinitePercentile(99), run.Count, run.FinitePercentile(50), run.FinitePercentile(99));
            }
        }
        finally
        {
            foreach (var (w, wl) in inProcess)
            {
                await w.DisposeAsync().ConfigureAwait(false);
                await wl.DisposeAsync().ConfigureAwait(false);
            }
            foreach (var p in processes) p.Stop();
            await delete().ConfigureAwait(false);
        }
    }

    private static Dictionary<string, WorkerInfo> Snapshot(CoordinatorNode node, IEnumerable<string> names)
    {
        var all = node.Workers.ToDictionary(w => w.Name, StringComparer.Ordinal);
        return names.ToDictionary(n => n, n => all[n], StringComparer.Ordinal);
    }

    /// <summary>Waits for a heartbeat from every worker sent after the given ones.</summary>
    private static async Task<Dictionary<string, WorkerInfo>> NextHeartbeats(CoordinatorNode node, List<string> names, Dictionary<string, WorkerInfo> after, CancellationToken cancel)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var now = Snapshot(node, names);
            if (names.All(n => now[n].LastSentUnixMs > after[n].LastSentUnixMs) || DateTime.UtcNow > deadline) return now;
            await Task.Delay(20, cancel).ConfigureAwait(false);
        }
    }

    private static void TryDelete(string dir)
    {
        try { Directory.Delete(dir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>A `fuzz worker` process with one loop, stopped with SIGTERM.</summary>
    private sealed class WorkerProcess
    {
        private readonly Process _p;
        private readonly ConcurrentQueue<string> _tail = new();

        private WorkerProcess(Process p)
        {
            _p = p;
            _p.OutputDataReceived += (_, e) => Keep(e.Data);
            _p.ErrorDataReceived += (_, e) => Keep(e.Data);
            _p.BeginOutputReadLine();
            _p.BeginErrorReadLine();
        }

        private void Keep(string? line)
        {
            if (line is null) return;
            _tail.Enqueue(line);
            while (_tail.Count > 20) _tail.TryDequeue(out _);
        }

        public bool Exited => _p.HasExited;
        public string Tail => string.Join('\n', _tail);

        public static WorkerProcess Start(string broker, string farm, string name, ulong seed, IEnumerable<string> bugs)
        {
            string host = Environment.ProcessPath ?? "dotnet";
            var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(host) == "dotnet") psi.ArgumentList.Add(typeof(FarmBench).Assembly.Location);
            foreach (var a in new[] { "worker", "--broker", broker, "--farm", farm, "--jobs", "1", "--name", name, "--seed", seed.ToString(), "--no-tasks" })
                psi.ArgumentList.Add(a);
            foreach (var b in bugs) { psi.ArgumentList.Add("--bug"); psi.ArgumentList.Add(b); }
            return new WorkerProcess(Process.Start(psi)!);
        }

        public void Stop()
        {
            if (_p.HasExited) return;
            try { Process.Start("kill", ["-TERM", _p.Id.ToString()])!.WaitForExit(); } catch (System.ComponentModel.Win32Exception) { }
            if (!_p.WaitForExit(20_000)) _p.Kill(entireProcessTree: true);
            _p.WaitForExit();
        }
    }
}
