using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Cluster;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Transport.Wire;
using Fuzz.Worker.Node;

namespace Fuzz.Worker.Cluster;

/// <summary>
/// A worker as an actor: owns the fuzz loops (plain threads, no message per execution), numbers what
/// they find (one counter for inputs and crashes), sends it to the coordinator in batches and keeps
/// each report until a <see cref="ReportsAck"/> covers it; what is unacknowledged after
/// <see cref="ResendAfter"/>, or when a coordinator node joins or leaves (a singleton handover), is
/// sent again. Imports the merged corpus the coordinator sends.
/// </summary>
public sealed class WorkerActor : ReceiveActor, IWithTimers
{
    public static readonly TimeSpan ResendAfter = TimeSpan.FromSeconds(2);
    public const int MaxBatchBytes = 4 << 20;

    /// <summary>Stop the loops and report what is left; answered with <see cref="Stopped"/> once all is acknowledged or <paramref name="Flush"/> is over.</summary>
    public sealed record Stop(TimeSpan Flush);
    public sealed record Stopped(long Execs, ulong Reported, ulong Acked, int Unacknowledged);

    private sealed class Tick { public static readonly Tick Instance = new(); }
    private sealed class Beat { public static readonly Beat Instance = new(); }
    private sealed class PulseTick { public static readonly PulseTick Instance = new(); }

    private sealed class Report(ulong seq, string name, ReportedInput? input, CrashFound? crash)
    {
        public readonly ulong Seq = seq;
        public readonly string Name = name;
        public readonly ReportedInput? Input = input;
        public readonly CrashFound? Crash = crash;
        public DateTime SentAt = DateTime.MinValue;
        public int Sends;

        /// <summary><see cref="ResendAfter"/>, doubled for each send without an ack up to 8 times it: a coordinator that is away is not flooded.</summary>
        public bool Due(DateTime now) => now - SentAt >= ResendAfter * (1 << Math.Min(3, Math.Max(0, Sends - 1)));
    }

    private readonly WorkerOptions _options;
    private readonly IActorRef _coordinator;
    private readonly Action<string> _log;
    private readonly string _campaign;
    private readonly ConcurrentQueue<object> _found = new();
    private readonly SortedDictionary<ulong, Report> _unacked = new();
    private readonly Dictionary<CrashKey, int> _crashKeys = new();
    private readonly StreamWriter? _journal;
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private ulong _seq;
    private long _received, _lastExecs;
    private double _lastT;
    private (IActorRef To, DateTime Deadline)? _stopping;

    public WorkerActor(WorkerOptions options, ITargetFactory factory, IActorRef coordinator, Action<string> log)
    {
        _options = options;
        _coordinator = coordinator;
        _log = log;
        _campaign = FarmWire.Campaign(options.Fuzz.Target, options.Fuzz.Bugs);
        Session = new FuzzSession(options.Fuzz, factory, store: null);
        for (int i = 0; i < Math.Max(1, options.Jobs); i++) Session.CreateLoop();
        Session.NewInput += (e, _) => _found.Enqueue((e, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        Session.Crash += OnCrashFound;
        if (options.JournalPath is { } j)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(j))!);
            _journal = new StreamWriter(new FileStream(j, FileMode.Append, FileAccess.Write, FileShare.Read));
        }
        Receive<Tick>(_ => { Drain(); Send(); CheckStopped(); });
        Receive<Beat>(_ => _coordinator.Tell(Heartbeat(), Self));
        Receive<PulseTick>(_ => Pulse());
        Receive<ReportsAck>(OnAck);
        Receive<Accepted>(OnAccepted);
        Receive<Refused>(r =>
        {
            _log($"{_options.Name}: refused by {r.Header.Sender}: {r.Reason}");
            Session.StopLoops();
            CoordinatedShutdown.Get(Context.System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance);
        });
        Receive<ClusterEvent.MemberUp>(m => Handover(m.Member, "joined"));
        Receive<ClusterEvent.MemberRemoved>(m => Handover(m.Member, "left"));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<Stop>(s =>
        {
            Session.StopLoops();
            Timers.Cancel("beat");
            Timers.Cancel("pulse");
            _stopping = (Sender, DateTime.UtcNow + s.Flush);
            Drain();
            Send();
            CheckStopped();
        });
    }

    public FuzzSession Session { get; }
    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(WorkerOptions options, ITargetFactory factory, IActorRef coordinator, Action<string> log) =>
        Akka.Actor.Props.Create(() => new WorkerActor(options, factory, coordinator, log));

    /// <summary>False in a process of its own without remoting (no membership to watch).</summary>
    private bool InCluster => ((ExtendedActorSystem)Context.System).Provider is ClusterActorRefProvider;

    private FarmHeader Header => FarmHeader.Now(_options.Name, _campaign);

    protected override void PreStart()
    {
        if (InCluster) Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));
        Timers.StartPeriodicTimer("tick", Tick.Instance, _options.BatchWindow > TimeSpan.Zero ? _options.BatchWindow : TimeSpan.FromMilliseconds(100));
        Timers.StartPeriodicTimer("beat", Beat.Instance, _options.HeartbeatInterval);
        Timers.StartPeriodicTimer("pulse", PulseTick.Instance, TimeSpan.FromSeconds(5));
        _coordinator.Tell(new CorpusRequest(Header, 0), Self);
        Session.StartLoops(null, _options.Name);
        _log($"{_options.Name}: {Session.Loops.Count} loops, campaign {_campaign}, seed {_options.Fuzz.Seed}");
    }

    protected override void PostStop()
    {
        if (InCluster) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        Session.StopLoops();
        _journal?.Dispose();
    }

    private void OnCrashFound(CrashFound c)
    {
        lock (_crashKeys)
        {
            int n = _crashKeys.GetValueOrDefault(c.Violation.Key);
            if (n >= _options.CrashReportsPerKey) return;
            _crashKeys[c.Violation.Key] = n + 1;
        }
        _found.Enqueue(c);
    }

    /// <summary>Numbers what the loops found since the last tick.</summary>
    private void Drain()
    {
        while (_found.TryDequeue(out var item))
        {
            ulong seq = ++_seq;
            if (item is (CorpusEntry e, long at))
                _unacked[seq] = new Report(seq, e.Name, new ReportedInput(seq, e.Data, e.Features, e.FoundAtExec, at), null);
            else if (item is CrashFound c)
                _unacked[seq] = new Report(seq, CorpusStore.NameOf(c.Input), null, c);
        }
    }

    /// <summary>Sends every report never sent or unacknowledged for <see cref="ResendAfter"/>, inputs in batches.</summary>
    private void Send()
    {
        var now = DateTime.UtcNow;
        var batch = new List<ReportedInput>();
        long bytes = 0;
        void Flush()
        {
            if (batch.Count == 0) return;
            _coordinator.Tell(new NewInputs(Header, batch.ToArray(), AckedThrough), Self);
            batch.Clear();
            bytes = 0;
        }
        foreach (var r in _unacked.Values)
        {
            if (!r.Due(now)) continue;
            r.SentAt = now;
            r.Sends++;
            if (r.Input is { } i)
            {
                if (batch.Count >= _options.MaxBatch || bytes + i.Data.Length + i.Features.Length * 4 > MaxBatchBytes) Flush();
                batch.Add(i);
                bytes += i.Data.Length + i.Features.Length * 4;
            }
            else if (r.Crash is { } c)
            {
                Flush();
                _coordinator.Tell(new ReportedCrash(Header, r.Seq, c.Input, c.Violation.Key, c.Violation.Detail, c.Exec, c.Elapsed.TotalSeconds, AckedThrough), Self);
            }
        }
        Flush();
    }

    private void OnAck(ReportsAck a)
    {
        if (a.Through > _seq || (a.Above is { } above && above.Any(s => s > _seq)))
        {
            _log($"an acknowledgement through {a.Through} from {a.Header.Sender}, but only {_seq} were reported: ignored");
            return;
        }
        var done = _unacked.Keys.TakeWhile(s => s <= a.Through).ToList();
        if (a.Above is { } more) done.AddRange(more.Where(s => s > a.Through && _unacked.ContainsKey(s)).Distinct());
        if (done.Count == 0) return;
        if (_journal is not null)
        {
            foreach (var s in done) _journal.WriteLine($"{(_unacked[s].Crash is null ? "input" : "crash")} {_unacked[s].Name}");
            _journal.Flush();
        }
        foreach (var s in done) _unacked.Remove(s);
        CheckStopped();
    }

    /// <summary>Every report numbered up to this one is acknowledged (what a coordinator that took over counts on from).</summary>
    private ulong AckedThrough => _unacked.Count > 0 ? _unacked.Keys.First() - 1 : _seq;

    private void OnAccepted(Accepted a)
    {
        if (a.Header.Campaign != _campaign) return;
        long now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        foreach (var input in a.Inputs)
        {
            if (!Session.Import(input.Name, input.Data, input.Features)) continue;
            _received++;
            if (input.FoundBy != _options.Name && input.FoundUnixMs > 0) PropagationLatency.Add(now - input.FoundUnixMs);
        }
    }

    /// <summary>A coordinator node came or went: the singleton may have moved, so everything unacknowledged goes again, and the corpus is asked for again.</summary>
    private void Handover(Member m, string what)
    {
        if (!m.HasRole(FarmConfig.CoordinatorRole)) return;
        if (what == "joined" && m.Address == Akka.Cluster.Cluster.Get(Context.System).SelfAddress) return;
        foreach (var r in _unacked.Values) (r.SentAt, r.Sends) = (DateTime.MinValue, 0);
        if (what == "left")
        {
            _log($"{_options.Name}: coordinator node {m.Address.Host}:{m.Address.Port} left; resending {_unacked.Count} unacknowledged reports");
            _coordinator.Tell(new CorpusRequest(Header, 0), Self);
        }
        Send();
    }

    private void CheckStopped()
    {
        if (_stopping is not { } s) return;
        if (_found.IsEmpty && Session.LoopsFinished && (_unacked.Count == 0 || DateTime.UtcNow >= s.Deadline))
        {
            if (_unacked.Count == 0) _coordinator.Tell(new Leaving(Header), Self);
            s.To.Tell(new Stopped(Session.Execs, _seq, AckedThrough, _unacked.Count));
            _stopping = null;
            Timers.CancelAll();
        }
    }

    public Fuzz.Engine.Transport.LatencyHistogram PropagationLatency { get; } = new();

    private Heartbeat Heartbeat()
    {
        long execs = Session.Execs;
        double now = _clock.Elapsed.TotalSeconds;
        double rate = now > _lastT ? (execs - _lastExecs) / (now - _lastT) : 0;
        _lastExecs = execs;
        _lastT = now;
        return new Heartbeat(Header, Session.Loops.Count, (ulong)execs, rate, Session.Corpus.Count, Session.Features.Features, Session.Features.Edges,
            (ulong)Session.CrashesFound, 0, _seq, (ulong)_received, PropagationLatency.Snapshot().AsSpan().TrimEnd(0UL).ToArray());
    }

    private void Pulse() =>
        _log($"#{Session.Execs} pulse cov: {Session.Features.Edges} ft: {Session.Features.Features} corp: {Session.Corpus.Count} crashes: {Session.CrashesFound} " +
            $"reported: {_seq} acked: {_seq - (ulong)_unacked.Count} unacked: {_unacked.Count} received: {_received}");
}
