using System.CommandLine;
using System.Runtime.InteropServices;
using Fuzz.Cli.Farm;
using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Hashing;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.RabbitMq;
using Fuzz.Worker.Node;
using Fuzz.Worker.Cluster;
using Fuzz.Coordinator.Cluster;

namespace Fuzz.Cli.Commands;

/// <summary>Ctrl-C and SIGTERM as a cancellation token, so a process stops cleanly on either.</summary>
public sealed class StopSignal : IDisposable
{
    private readonly CancellationTokenSource _cts;
    private readonly PosixSignalRegistration? _term;
    private readonly ConsoleCancelEventHandler _onCancel;

    public StopSignal(CancellationToken outer)
    {
        _cts = CancellationTokenSource.CreateLinkedTokenSource(outer);
        _onCancel = (_, e) => { e.Cancel = true; _cts.Cancel(); };
        Console.CancelKeyPress += _onCancel;
        if (!OperatingSystem.IsWindows()) _term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; _cts.Cancel(); });
    }

    public CancellationToken Token => _cts.Token;

    public void Dispose()
    {
        Console.CancelKeyPress -= _onCancel;
        _term?.Dispose();
        _cts.Dispose();
    }
}

internal static class BrokerOption
{
    public static Option<string> Create(bool required = true) => new("--broker")
    {
        Description = "RabbitMQ URL(s), comma-separated for a cluster (amqp://user:pass@host:5672/); `scripts/broker start` prints one",
        Required = required,
    };

    public static Option<string> Farm() => new("--farm")
    {
        Description = "name of the farm on the broker (queues and streams are prefixed with it; several farms can share a broker)",
        DefaultValueFactory = _ => "default",
    };

    /// <param name="connectionName">How the connection shows on the broker and in its connection events (<see cref="ConnectionNames.Of"/>).</param>
    public static bool TryOpen(string broker, string farm, TextWriter stderr, string command, out ITransport transport, string? connectionName = null)
    {
        transport = null!;
        var uris = new List<Uri>();
        foreach (var part in broker.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(part, UriKind.Absolute, out var u) || (u.Scheme != "amqp" && u.Scheme != "amqps"))
            {
                stderr.WriteLine($"{command}: --broker '{part}' is not an amqp:// URL");
                return false;
            }
            uris.Add(u);
        }
        if (uris.Count == 0) { stderr.WriteLine($"{command}: --broker is empty"); return false; }
        if (farm.Length == 0 || !farm.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
        {
            stderr.WriteLine($"{command}: --farm must be letters, digits, '-' or '_'");
            return false;
        }
        transport = new RabbitMqTransport(string.Join(',', uris), farm, new RabbitMqOptions { ConnectionName = connectionName });
        return true;
    }
}

/// <summary>--listen / --join / --insecure: a node of an Akka cluster instead of a broker client.</summary>
internal static class ClusterOptions
{
    public static Option<string?> Listen() => new("--listen")
    {
        Description = "run as an Akka.Cluster node on host:port (loopback unless --insecure; port 0: any free port) instead of on a broker",
    };

    public static Option<string?> Join() => new("--join")
    {
        Description = "host:port of cluster nodes to join, comma-separated (a coordinator without it starts a cluster of its own)",
    };

    public static Option<bool> Insecure() => new("--insecure")
    {
        Description = "allow --listen on an address other than loopback without TLS (anyone who reaches the port can join the farm)",
    };

    public static bool TryParse(string listen, string? join, bool insecure, bool joinRequired, TextWriter stderr, string command,
        out (string Host, int Port) endpoint, out List<(string Host, int Port)> seeds)
    {
        seeds = new();
        if (!Fuzz.Engine.Cluster.FarmConfig.TryParseEndpoint(listen, out endpoint, out var why)) { stderr.WriteLine($"{command}: --listen {why}"); return false; }
        if (!insecure && !IsLoopback(endpoint.Host))
        {
            stderr.WriteLine($"{command}: --listen {listen} is not a loopback address; the farm's remoting has no TLS here, so pass --insecure to listen there anyway");
            return false;
        }
        foreach (var part in (join ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Fuzz.Engine.Cluster.FarmConfig.TryParseEndpoint(part, out var seed, out why) || seed.Port == 0)
            {
                stderr.WriteLine($"{command}: --join {(why.Length > 0 ? why : $"'{part}' needs a port")}");
                return false;
            }
            seeds.Add(seed);
        }
        if (joinRequired && seeds.Count == 0) { stderr.WriteLine($"{command}: --listen needs --join host:port of a coordinator node"); return false; }
        if (seeds.Count == 0 && endpoint.Port == 0) { stderr.WriteLine($"{command}: a node that starts the cluster (no --join) needs a fixed --listen port"); return false; }
        return true;
    }

    /// <summary>Exactly one of --broker and --listen; otherwise the problem and where help is, on stderr.</summary>
    public static bool OneOf(string? broker, string? listen, string cluster, TextWriter stderr, string command)
    {
        if (broker is not null && listen is not null) stderr.WriteLine($"{command}: --listen (a cluster node) and --broker exclude each other");
        else if (broker is null && listen is null) stderr.WriteLine($"{command}: give --broker URL (a broker farm) or {cluster} (a cluster node)");
        else return true;
        stderr.WriteLine($"see {command} --help");
        return false;
    }

    private static bool IsLoopback(string host) =>
        host == "localhost" || (System.Net.IPAddress.TryParse(host, out var ip) && System.Net.IPAddress.IsLoopback(ip));
}

/// <summary>fuzz worker: fuzz loops and tasks for a coordinator on a broker.</summary>
public static class WorkerCommand
{
    public static Command Build()
    {
        var broker = BrokerOption.Create(required: false);
        var farm = BrokerOption.Farm();
        var listen = ClusterOptions.Listen();
        var join = ClusterOptions.Join();
        var insecure = ClusterOptions.Insecure();
        var jobs = new Option<int>("--jobs") { Description = "fuzz loops, one thread each", DefaultValueFactory = _ => Environment.ProcessorCount };
        var name = new Option<string?>("--name") { Description = "worker name (default: host-pid)" };
        var target = new Option<string>("--target") { Description = "fuzz target; must match the coordinator's", DefaultValueFactory = _ => Targets.Factory.DefaultTarget };
        var bugs = BugOption.Create();
        var seed = new Option<ulong?>("--seed") { Description = "seed of the loops' random streams (default: from the name)" };
        var journal = new Option<string?>("--journal") { Description = "append one line per input and crash the broker confirmed, or in a cluster the coordinator acknowledged (what this worker handed over)" };
        var noTasks = new Option<bool>("--no-tasks") { Description = "fuzz only; take no replay or minimisation tasks" };
        var cmd = new Command("worker", "Fuzz for a coordinator: N loops fed by the merged corpus, reporting new inputs and crashes, taking tasks")
            { broker, farm, listen, join, insecure, jobs, name, target, bugs, seed, journal, noTasks };
        UsageErrors.SetAction(cmd, async (r, cancel) =>
        {
            var stderr = Console.Error;
            if (!ClusterOptions.OneOf(r.GetValue(broker), r.GetValue(listen), "--listen host:port --join host:port", stderr, "fuzz worker")) return 2;
            var factory = Targets.Factory;
            string t = r.GetValue(target)!;
            if (factory.Describe(t) is not { } description) { stderr.WriteLine($"fuzz worker: unknown target '{t}'"); return 2; }
            if (!BugOption.TryParse(description, r.GetValue(bugs) ?? [], stderr, out var bugList)) return 2;
            if (r.GetValue(jobs) < 1) { stderr.WriteLine("fuzz worker: --jobs must be at least 1"); return 2; }
            string n = r.GetValue(name) ?? $"{Environment.MachineName}-{Environment.ProcessId}";
            string farmName = r.GetValue(farm)!;
            ulong s = r.GetValue(seed) ?? Fnv1a.Hash(n);
            var options = new WorkerOptions(n, r.GetValue(jobs), new FuzzOptions(t, FuzzStrategy.Coverage, s, bugList))
            {
                JournalPath = r.GetValue(journal), Tasks = !r.GetValue(noTasks),
            };
            if (r.GetValue(listen) is { } l)
            {
                if (!ClusterOptions.TryParse(l, r.GetValue(join), r.GetValue(insecure), joinRequired: true, stderr, "fuzz worker", out var endpoint, out var seeds)) return 2;
                return await RunClusterWorker(options, factory, endpoint, seeds, cancel);
            }
            if (r.GetValue(broker) is not { } brokerUrl) { stderr.WriteLine("fuzz worker: give --broker URL or --listen host:port --join host:port"); return 2; }
            if (!BrokerOption.TryOpen(brokerUrl, farmName, stderr, "fuzz worker", out var transport, ConnectionNames.Of(ConnectionNames.Worker, farmName, n))) return 2;
            using var stop = new StopSignal(cancel);
            await using var _ = transport;
            var worker = new WorkerNode(options, factory, transport);
            var print = new Lock();
            void Say(string line) { lock (print) Console.WriteLine(line); }
            worker.Log += l => Say($"{n}: {l}");
            try
            {
                await worker.StartAsync(stop.Token);
            }
            catch (OperationCanceledException) { return 0; }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                stderr.WriteLine($"fuzz worker: cannot connect to {transport.Description}: {e.Message}");
                await worker.DisposeAsync();
                return 1;
            }
            Say($"{n}: connected to {transport.Description}, {options.Jobs} loops, target {WireCampaign(t, bugList)}, seed {s}");
            worker.StartLoops();
            long lastExecs = 0;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            double lastT = 0;
            while (!stop.Token.IsCancellationRequested)
            {
                try { await Task.Delay(TimeSpan.FromSeconds(5), stop.Token); } catch (OperationCanceledException) { break; }
                var s0 = worker.Session;
                double now = clock.Elapsed.TotalSeconds;
                long execs = s0.Execs;
                Say($"#{execs} pulse cov: {s0.Features.Edges} ft: {s0.Features.Features} corp: {s0.Corpus.Count} exec/s: {(execs - lastExecs) / Math.Max(1e-3, now - lastT):0} crashes: {s0.CrashesFound} " +
                    $"published: {worker.InputsPublished} received: {worker.CorpusReceived} tasks: {worker.TasksDone}");
                lastExecs = execs;
                lastT = now;
            }
            Say($"{n}: stopping");
            await worker.StopAsync(TimeSpan.FromSeconds(10));
            Say($"{n}: stopped after {worker.Session.Execs:N0} execs; published {worker.InputsPublished} inputs and {worker.CrashesReported} crashes, received {worker.CorpusReceived} inputs, did {worker.TasksDone} tasks");
            return 0;
        });
        return cmd;
    }

    private static async Task<int> RunClusterWorker(WorkerOptions options, Fuzz.Engine.Fuzzing.ITargetFactory factory, (string Host, int Port) listen, List<(string Host, int Port)> seeds, CancellationToken cancel)
    {
        using var stop = new StopSignal(cancel);
        var print = new Lock();
        void Say(string line) { lock (print) Console.WriteLine(line); }
        var node = WorkerCluster.Start(options, factory, listen, seeds, Say);
        Say($"{options.Name}: cluster node {node.Address} (role worker), joining {string.Join(',', seeds.Select(x => $"{x.Host}:{x.Port}"))}");
        if (await UntilStoppedOrRemoved(node.System, stop.Token))
        {
            Say($"{options.Name}: this node was removed from the cluster (downed, or it could not stay a member): exiting; start it again to rejoin");
            return 1;
        }
        Say($"{options.Name}: stopping");
        var stopped = await node.StopAsync(TimeSpan.FromSeconds(10));
        await node.DisposeAsync();
        Say(stopped is { } st
            ? $"{options.Name}: stopped after {st.Execs:N0} execs; reported {st.Reported}, acknowledged through {st.Acked}, {st.Unacknowledged} unacknowledged"
            : $"{options.Name}: stopped (the worker actor did not answer)");
        return 0;
    }

    /// <summary>Waits for Ctrl-C/SIGTERM or for the node's actor system to end by itself (the cluster removed it); true for the latter.</summary>
    internal static async Task<bool> UntilStoppedOrRemoved(Akka.Actor.ActorSystem system, CancellationToken stop)
    {
        var stopped = Task.Delay(Timeout.Infinite, stop);
        var done = await Task.WhenAny(stopped, system.WhenTerminated);
        return done != stopped;
    }

    internal static string WireCampaign(string target, IEnumerable<string> bugs) => Fuzz.Engine.Transport.Wire.FarmWire.Campaign(target, bugs);
}

/// <summary>fuzz coordinator: merges corpora, triages crashes, tracks workers.</summary>
public static class CoordinatorCommand
{
    public static Command Build()
    {
        var broker = BrokerOption.Create(required: false);
        var farm = BrokerOption.Farm();
        var listen = ClusterOptions.Listen();
        var join = ClusterOptions.Join();
        var insecure = ClusterOptions.Insecure();
        var workdir = new Option<string>("--workdir") { Description = "corpus/<target>/, crashes/, stats.jsonl, inputs.log", Required = true };
        var standby = new Option<bool>("--standby") { Description = "start as a standby (it is one anyway while another coordinator holds the events queue); takes over when the active one goes" };
        var name = new Option<string?>("--name") { Description = "coordinator name (default: host-pid)" };
        var target = new Option<string>("--target") { Description = "fuzz target", DefaultValueFactory = _ => Targets.Factory.DefaultTarget };
        var bugs = BugOption.Create();
        var budget = new Option<double>("--minimize-seconds") { Description = "time budget to minimise each new crash", DefaultValueFactory = _ => 30 };
        var timeout = new Option<double>("--worker-timeout") { Description = "seconds without a heartbeat before a worker counts as lost (on a broker with the event exchange, a worker whose connection closes is lost at once)", DefaultValueFactory = _ => 5 };
        var local = new Option<bool>("--minimize-locally") { Description = "minimise crashes here instead of sending the task to a worker" };
        var cmd = new Command("coordinator", "Merge the workers' corpora, triage their crashes, track them; a second one with --standby takes over when the first dies")
            { broker, farm, listen, join, insecure, workdir, standby, name, target, bugs, budget, timeout, local };
        UsageErrors.SetAction(cmd, async (r, cancel) =>
        {
            var stderr = Console.Error;
            if (!ClusterOptions.OneOf(r.GetValue(broker), r.GetValue(listen), "--listen host:port", stderr, "fuzz coordinator")) return 2;
            var factory = Targets.Factory;
            string t = r.GetValue(target)!;
            if (factory.Describe(t) is not { } description) { stderr.WriteLine($"fuzz coordinator: unknown target '{t}'"); return 2; }
            if (!BugOption.TryParse(description, r.GetValue(bugs) ?? [], stderr, out var bugList)) return 2;
            string dir = r.GetValue(workdir)!;
            if (EmbeddedFarm.CheckWritable(dir) is { } why)
            {
                stderr.WriteLine($"fuzz coordinator: cannot write to the work directory '{Path.GetFullPath(dir)}': {why}");
                return 2;
            }
            string n = r.GetValue(name) ?? $"coordinator-{Environment.MachineName}-{Environment.ProcessId}";
            string farmName = r.GetValue(farm)!;
            var options = new CoordinatorOptions(n, dir, t, bugList)
            {
                MinimizeBudget = TimeSpan.FromSeconds(Math.Max(0.1, r.GetValue(budget))),
                WorkerTimeout = TimeSpan.FromSeconds(Math.Max(0.5, r.GetValue(timeout))),
                MinimizeOnWorkers = !r.GetValue(local),
            };
            if (r.GetValue(listen) is { } l)
            {
                if (!ClusterOptions.TryParse(l, r.GetValue(join), r.GetValue(insecure), joinRequired: false, stderr, "fuzz coordinator", out var endpoint, out var seeds)) return 2;
                return await RunClusterCoordinator(options with { MinimizeOnWorkers = false }, factory, endpoint, seeds, cancel);
            }
            if (r.GetValue(broker) is not { } brokerUrl) { stderr.WriteLine("fuzz coordinator: give --broker URL or --listen host:port"); return 2; }
            if (!BrokerOption.TryOpen(brokerUrl, farmName, stderr, "fuzz coordinator", out var transport, ConnectionNames.Of(ConnectionNames.Coordinator, farmName, n))) return 2;
            using var stop = new StopSignal(cancel);
            await using var _ = transport;
            var node = new CoordinatorNode(options, factory, transport);
            var print = new Lock();
            void Say(string line) { lock (print) Console.WriteLine(line); }
            node.Log += l => Say(l);
            Say($"{n}: {(r.GetValue(standby) ? "standby" : "starting")}, work directory {Path.GetFullPath(dir)}, broker {transport.Description}, target {WorkerCommand.WireCampaign(t, bugList)}");
            try
            {
                await node.StartAsync(stop.Token);
            }
            catch (OperationCanceledException) { await node.DisposeAsync(); return 0; }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                stderr.WriteLine($"fuzz coordinator: cannot start on {transport.Description}: {e.Message}");
                await node.DisposeAsync();
                return 1;
            }
            while (!stop.Token.IsCancellationRequested)
            {
                try { await Task.Delay(TimeSpan.FromSeconds(5), stop.Token); } catch (OperationCanceledException) { break; }
                var s = node.Stats();
                Say($"#{s.Execs} {(s.Active ? "pulse" : "standby")} cov: {s.Cov} ft: {s.Ft} corp: {s.Corp} exec/s: {s.ExecsPerSecond:0} crashes: {s.Crashes} workers: {s.WorkersAlive} " +
                    $"merged: {s.InputsAccepted}/{s.InputsReceived} dead-lettered: {s.DeadLettered}");
            }
            Say($"{n}: stopping");
            await node.DisposeAsync();
            var f = node.Stats();
            Say($"{n}: stopped; corpus {f.Corp}, {f.Crashes} crashes filed, {f.InputsAccepted} of {f.InputsReceived} inputs accepted, {f.DeadLettered} messages dead-lettered");
            return 0;
        });
        return cmd;
    }

    private static async Task<int> RunClusterCoordinator(CoordinatorOptions options, Fuzz.Engine.Fuzzing.ITargetFactory factory, (string Host, int Port) listen, List<(string Host, int Port)> seeds, CancellationToken cancel)
    {
        using var stop = new StopSignal(cancel);
        var print = new Lock();
        void Say(string line) { lock (print) Console.WriteLine(line); }
        string campaign = WorkerCommand.WireCampaign(options.Target, options.Bugs);
        var node = CoordinatorCluster.Start(options, factory, campaign, listen, seeds, Say);
        Say($"{options.Name}: cluster node {node.Address} (role coordinator), work directory {Path.GetFullPath(options.WorkDir)}, campaign {campaign}, " +
            $"{node.Store.Count} inputs; {(seeds.Count == 0 ? "starting a cluster" : "joining " + string.Join(',', seeds.Select(x => $"{x.Host}:{x.Port}")))} (standby until this node holds the coordinator singleton)");
        if (await WorkerCommand.UntilStoppedOrRemoved(node.System, stop.Token))
        {
            Say($"{options.Name}: this node was removed from the cluster (downed, or it could not stay a member): exiting, it no longer coordinates; start it again to rejoin as a standby");
            await node.DisposeAsync();
            return 1;
        }
        Say($"{options.Name}: stopping");
        await node.DisposeAsync();
        Say($"{options.Name}: stopped; corpus {node.Store.Count}, {node.Store.Triage.Unique} crashes filed");
        return 0;
    }
}
