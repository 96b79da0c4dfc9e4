using Akka.Actor;
using Akka.Cluster;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;

namespace Fuzz.Coordinator.Cluster;

/// <summary>
/// The farm's coordinator as an actor (the cluster singleton on the coordinator nodes): merges the
/// workers' new inputs into <see cref="FarmStore"/>, takes their crashes to triage, and acknowledges
/// each worker's reports cumulatively once they are persisted (an input once its batch is in the
/// write-ahead log, a crash once triage is done with it). Reports are deduplicated by sequence number
/// and content hash, so resent ones cost nothing. What it accepts and files goes to every worker it
/// knows (accepted inputs) and to the replica on every other coordinator node (both).
/// </summary>
public sealed class CoordinatorActor : ReceiveActor, IWithTimers
{
    /// <summary>A worker's acknowledgement state: everything through <see cref="Through"/> is persisted; <see cref="Done"/> holds the persisted ones above it.</summary>
    private sealed class Reporter(IActorRef worker)
    {
        public IActorRef Ref = worker;
        public ulong Through;
        public readonly SortedSet<ulong> Done = new();
        public DateTime LastSeen = DateTime.UtcNow;
        public Heartbeat? Last;
        public bool Lost;
    }

    private sealed record TriageDone(string Input, TriageOutcome Outcome);
    private sealed class Pulse { public static readonly Pulse Instance = new(); }
    private sealed class ReplicationTick { public static readonly ReplicationTick Instance = new(); }

    /// <summary>A batch sent to the standbys whose reports are acknowledged once every standby has it (or is gone).</summary>
    private sealed class Replication(HashSet<Address> waiting, List<(string Worker, ulong Seq)> reports)
    {
        public readonly HashSet<Address> Waiting = waiting;
        public readonly List<(string Worker, ulong Seq)> Reports = reports;
        public readonly DateTime Since = DateTime.UtcNow;
    }

    /// <summary>A standby that has not confirmed a batch for this long is not waited for any more.</summary>
    private static readonly TimeSpan ReplicationTimeout = TimeSpan.FromSeconds(5);

    public const int CorpusBatch = 256;
    public const int CorpusBatchBytes = 4 << 20;
    private static readonly TimeSpan WorkerTimeout = TimeSpan.FromSeconds(5);

    private readonly FarmStore _store;
    private readonly string _campaign;
    private readonly Action<string> _log;
    private readonly Dictionary<string, Reporter> _workers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<(string Worker, ulong Seq)>> _triaging = new(StringComparer.Ordinal);
    private readonly HashSet<string> _foreign = new(StringComparer.Ordinal);

    /// <summary>By the merged-corpus offset of each batch's last input.</summary>
    private readonly SortedDictionary<long, Replication> _replicating = new();
    private readonly HashSet<(string Worker, ulong Seq)> _awaitingReplicas = new();
    private long _received, _accepted, _redundant, _duplicates, _crashes;

    public CoordinatorActor(FarmStore store, string campaign, Action<string> log)
    {
        _store = store;
        _campaign = campaign;
        _log = log;
        Receive<NewInputs>(OnNewInputs);
        Receive<ReportedCrash>(OnCrash);
        Receive<TriageDone>(OnTriageDone);
        Receive<Heartbeat>(h => { if (Known(h.Header)) Seen(h.Header.Sender).Last = h; });
        Receive<Leaving>(OnLeaving);
        Receive<CorpusRequest>(OnCorpusRequest);
        Receive<Pulse>(_ => OnPulse());
        Receive<ReportsAck>(OnReplicaAck);
        Receive<ReplicationTick>(_ => ExpireReplication());
        Receive<ClusterEvent.MemberRemoved>(m => StandbyGone(m.Member.Address));
        Receive<ClusterEvent.UnreachableMember>(m => StandbyGone(m.Member.Address));
        Receive<ClusterEvent.IClusterDomainEvent>(_ => { });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(FarmStore store, string campaign, Action<string> log) =>
        Akka.Actor.Props.Create(() => new CoordinatorActor(store, campaign, log));

    private FarmHeader Header => FarmHeader.Now(_store.Options.Name, _campaign);

    protected override void PreStart()
    {
        _log($"{_store.Options.Name}: active coordinator, {_store.Count} inputs, {_store.Features.Features} features, {_store.Triage.Unique} crashes filed");
        Timers.StartPeriodicTimer("pulse", Pulse.Instance, TimeSpan.FromSeconds(5));
        Timers.StartPeriodicTimer("replication", ReplicationTick.Instance, TimeSpan.FromSeconds(1));
        if (InCluster)
            Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
                typeof(ClusterEvent.MemberRemoved), typeof(ClusterEvent.UnreachableMember));
    }

    protected override void PostStop()
    {
        if (InCluster) Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);
        _log($"{_store.Options.Name}: no longer the active coordinator");
    }

    private bool InCluster => ((ExtendedActorSystem)Context.System).Provider is ClusterActorRefProvider;

    /// <summary>Messages of another campaign are dropped with one log line per sender.</summary>
    private bool Known(FarmHeader h)
    {
        if (h.Campaign == _campaign) return true;
        if (_foreign.Add(h.Sender))
        {
            _log($"{h.Sender} runs campaign {h.Campaign}, this farm runs {_campaign}: refused, its messages are dropped");
            Sender.Tell(new Refused(Header, $"this farm runs campaign {_campaign}, {h.Sender} runs {h.Campaign}: start it with the farm's --target and --bug"), Self);
        }
        return false;
    }

    private Reporter Seen(string name)
    {
        if (!_workers.TryGetValue(name, out var r))
        {
            _workers[name] = r = new Reporter(Sender);
            _log($"worker {name} reporting (from {Sender.Path.Address})");
        }
        else if (!r.Ref.Equals(Sender) && !Sender.IsNobody())
        {
            r.Ref = Sender;
            _log($"worker {name} reporting from a new actor ({Sender.Path})");
        }
        r.LastSeen = DateTime.UtcNow;
        if (r.Lost) { r.Lost = false; _log($"worker {name} is back"); }
        return r;
    }

    /// <summary>A report numbered <paramref name="seq"/> not persisted yet (resent ones are).</summary>
    private bool IsNew(string worker, Reporter r, ulong seq) => seq > r.Through && !r.Done.Contains(seq) && !_awaitingReplicas.Contains((worker, seq));

    private static void Catch(Reporter r, ulong ackedThrough)
    {
        if (ackedThrough <= r.Through) return;
        r.Through = ackedThrough;
        r.Done.RemoveWhere(s => s <= ackedThrough);
    }

    private void OnNewInputs(NewInputs m)
    {
        if (!Known(m.Header)) return;
        var r = Seen(m.Header.Sender);
        Catch(r, m.AckedThrough);
        var accepted = new List<AcceptedInput>();
        var decisions = new List<string>();
        var seqs = new List<ulong>();
        foreach (var input in m.Inputs)
        {
            if (!IsNew(m.Header.Sender, r, input.Seq)) { _duplicates++; continue; }
            _received++;
            seqs.Add(input.Seq);
            string name = CorpusStore.NameOf(input.Data);
            if (_store.Offer(name, input.Data, input.Features))
            {
                _accepted++;
                accepted.Add(new AcceptedInput(name, input.Data, input.Features, m.Header.Sender, input.FoundUnixMs > 0 ? input.FoundUnixMs : m.Header.SentUnixMs));
                decisions.Add($"accepted {name} {m.Header.Sender}");
            }
            else
            {
                _redundant++;
                decisions.Add($"redundant {name} {m.Header.Sender}");
            }
        }
        long first = _store.Commit(accepted, decisions);
        var standbys = accepted.Count > 0 ? Publish(new Accepted(Header, first, accepted.ToArray())) : [];
        if (standbys.Count > 0 && seqs.Count > 0)
        {
            var reports = seqs.Select(s => (m.Header.Sender, s)).ToList();
            _replicating[first + accepted.Count - 1] = new Replication(standbys, reports);
            foreach (var x in reports) _awaitingReplicas.Add(x);
            return;
        }
        foreach (var s in seqs) r.Done.Add(s);
        Ack(m.Header.Sender, r);
    }

    private void OnCrash(ReportedCrash c)
    {
        if (!Known(c.Header)) return;
        var r = Seen(c.Header.Sender);
        Catch(r, c.AckedThrough);
        if (!IsNew(c.Header.Sender, r, c.Seq)) { _duplicates++; Ack(c.Header.Sender, r); return; }
        string name = CorpusStore.NameOf(c.Input);
        if (_triaging.TryGetValue(name, out var waiting))
        {
            if (!waiting.Contains((c.Header.Sender, c.Seq))) waiting.Add((c.Header.Sender, c.Seq));
            return;
        }
        _crashes++;
        _store.KeepReceived(c.Input);
        _triaging[name] = [(c.Header.Sender, c.Seq)];
        var self = Self;
        var submission = new CrashSubmission(c.Input, c.Key, c.FoundAtExec, c.FoundAtSeconds, c.Header.Sender);
        if (!_store.Triage.Submit(submission, o => self.Tell(new TriageDone(name, o))))
            _log($"a crash from {c.Header.Sender} was not taken: triage is stopping");
    }

    private void OnTriageDone(TriageDone d)
    {
        var o = d.Outcome;
        if (o.Verdict == TriageVerdict.NotReproduced) _log($"a crash did not reproduce on a clean model ({d.Input})");
        if (o.Verdict == TriageVerdict.Filed && o.Report is { } rep)
        {
            _log($"filed {rep.Signature}: {rep.Detail} | minimised {rep.Before.Ops}->{rep.After.Ops} ops, {rep.Before.Threads}->{rep.After.Threads} threads in {rep.MinimizeSeconds:F1}s");
            if (_store.FiledMessage(Header, rep.Signature) is { } filed) Replicate(filed);
        }
        if (!_triaging.Remove(d.Input, out var waiting)) return;
        foreach (var (worker, seq) in waiting)
            if (_workers.TryGetValue(worker, out var r) && IsNew(worker, r, seq))
            {
                r.Done.Add(seq);
                Ack(worker, r);
            }
    }

    /// <summary>Advances the worker's contiguous acknowledgement and tells it.</summary>
    private void Ack(string worker, Reporter r)
    {
        while (r.Done.Count > 0 && r.Done.Min == r.Through + 1)
        {
            r.Through++;
            r.Done.Remove(r.Through);
        }
        r.Ref.Tell(new ReportsAck(Header, r.Through, r.Done.Count > 0 ? r.Done.Take(ReportsAck.MaxAbove).ToArray() : null), Self);
    }

    private void OnLeaving(Leaving l)
    {
        if (!Known(l.Header)) return;
        if (_workers.Remove(l.Header.Sender)) _log($"worker {l.Header.Sender} left");
    }

    /// <summary>
    /// The merged corpus from an offset, for a worker; for the replica of a standby that joined, the
    /// crash index too (what was accepted and filed before it was a member; after, it is sent each).
    /// </summary>
    private void OnCorpusRequest(CorpusRequest r)
    {
        if (!Known(r.Header)) return;
        bool replica = Sender.Path.Name == ReplicaActor.Name;
        if (replica && Sender.Path.Address.HasLocalScope) return;
        SendCorpus(Sender, r.FromOffset);
        if (!replica) return;
        foreach (var report in _store.Triage.Filed)
            if (_store.FiledMessage(Header, report.Signature) is { } filed) Sender.Tell(filed, Self);
        _log($"standby {r.Header.Sender} caught up: {_store.Count} inputs, {_store.Triage.Unique} crashes");
    }

    private void SendCorpus(IActorRef to, long from)
    {
        long offset = from;
        while (true)
        {
            var batch = _store.Read(offset, CorpusBatch, CorpusBatchBytes);
            if (batch.Length == 0) break;
            to.Tell(new Accepted(Header, offset, batch), Self);
            offset += batch.Length;
        }
    }

    /// <summary>To every worker and every standby; returns the standbys' addresses.</summary>
    private HashSet<Address> Publish(Accepted a)
    {
        foreach (var w in _workers.Values)
            if (!w.Lost) w.Ref.Tell(a, Self);
        return Replicate(a);
    }

    /// <summary>To the replica on every other coordinator node (its standby copy); returns their addresses.</summary>
    private HashSet<Address> Replicate(object message)
    {
        var sent = new HashSet<Address>();
        if (!InCluster) return sent;
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        var unreachable = cluster.State.Unreachable;
        foreach (var m in cluster.State.Members)
            if (m.HasRole(FarmConfig.CoordinatorRole) && m.Address != cluster.SelfAddress && m.Status is MemberStatus.Joining or MemberStatus.WeaklyUp or MemberStatus.Up && !unreachable.Contains(m))
            {
                Context.ActorSelection(new RootActorPath(m.Address) / "user" / ReplicaActor.Name).Tell(message, Self);
                sent.Add(m.Address);
            }
        return sent;
    }

    /// <summary>A standby has the merged corpus through <see cref="ReportsAck.Through"/>: the reports of batches every standby has are acknowledged.</summary>
    private void OnReplicaAck(ReportsAck a)
    {
        if (!Known(a.Header)) return;
        var from = Sender.Path.Address;
        foreach (var (last, rep) in _replicating)
        {
            if (last > (long)a.Through) break;
            rep.Waiting.Remove(from);
        }
        CompleteReplicated();
    }

    private void StandbyGone(Address address)
    {
        foreach (var rep in _replicating.Values) rep.Waiting.Remove(address);
        CompleteReplicated();
    }

    private void ExpireReplication()
    {
        var now = DateTime.UtcNow;
        foreach (var rep in _replicating.Values)
            if (rep.Waiting.Count > 0 && now - rep.Since > ReplicationTimeout)
            {
                _log($"standby {string.Join(", ", rep.Waiting.Select(x => $"{x.Host}:{x.Port}"))} did not confirm a batch within {ReplicationTimeout.TotalSeconds:0}s: acknowledged without it");
                rep.Waiting.Clear();
            }
        CompleteReplicated();
    }

    /// <summary>Acknowledges, in merged-corpus order, the reports of every batch no standby is still to confirm.</summary>
    private void CompleteReplicated()
    {
        var acked = new HashSet<string>(StringComparer.Ordinal);
        while (_replicating.Count > 0)
        {
            var (last, rep) = _replicating.First();
            if (rep.Waiting.Count > 0) break;
            _replicating.Remove(last);
            foreach (var (worker, seq) in rep.Reports)
            {
                _awaitingReplicas.Remove((worker, seq));
                if (_workers.TryGetValue(worker, out var r) && seq > r.Through) { r.Done.Add(seq); acked.Add(worker); }
            }
        }
        foreach (var worker in acked) Ack(worker, _workers[worker]);
    }

    private void OnPulse()
    {
        var now = DateTime.UtcNow;
        foreach (var (name, w) in _workers)
            if (!w.Lost && now - w.LastSeen > WorkerTimeout)
            {
                w.Lost = true;
                _log($"worker {name} lost: nothing from it for {WorkerTimeout.TotalSeconds:0}s");
            }
        ulong execs = 0;
        double rate = 0;
        foreach (var w in _workers.Values)
            if (w.Last is { } h && !w.Lost) { execs += h.Execs; rate += h.ExecsPerSecond; }
        _log($"#{execs} pulse ft: {_store.Features.Features} corp: {_store.Count} exec/s: {rate:0} crashes: {_store.Triage.Unique} workers: {_workers.Values.Count(w => !w.Lost)} " +
            $"merged: {_accepted}/{_received} redundant: {_redundant} duplicates: {_duplicates} crash-reports: {_crashes}");
    }
}
