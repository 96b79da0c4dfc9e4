using Akka.Actor;
using Akka.Cluster;
using Fuzz.Engine.Cluster.Contract;

namespace Fuzz.Coordinator.Cluster;

/// <summary>
/// On every coordinator node: takes what the active coordinator accepted and filed into this node's
/// <see cref="FarmStore"/>, so that it is all here when this node's singleton takes over. Once this
/// node is up it asks the active coordinator for everything it had before (from then on, each
/// accepted batch and filed crash is sent here as well). Each batch is confirmed once it is durable
/// here (a <see cref="ReportsAck"/> through the merged-corpus offset of its last input): only then
/// does the active coordinator acknowledge it to the workers.
/// </summary>
public sealed class ReplicaActor : ReceiveActor
{
    public const string Name = "replica";

    public ReplicaActor(FarmStore store, string campaign, IActorRef coordinator, Action<string> log)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<ClusterEvent.MemberUp>(m =>
        {
            if (m.Member.Address == cluster.SelfAddress) coordinator.Tell(new CorpusRequest(FarmHeader.Now(store.Options.Name, campaign), 0), Self);
        });
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<Accepted>(a =>
        {
            if (a.Header.Campaign != campaign) return;
            store.Adopt(a.Inputs);
            if (a.Inputs.Length > 0) Sender.Tell(new ReportsAck(FarmHeader.Now(store.Options.Name, campaign), (ulong)(a.FirstOffset + a.Inputs.Length - 1)), Self);
        });
        Receive<FiledCrash>(f =>
        {
            if (f.Header.Campaign != campaign) return;
            if (store.Adopt(f)) log($"crash {f.Signature} copied from {f.Header.Sender}");
        });
    }

    protected override void PreStart() =>
        Akka.Cluster.Cluster.Get(Context.System).Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents, typeof(ClusterEvent.IMemberEvent));

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    public static Props Props(FarmStore store, string campaign, IActorRef coordinator, Action<string> log) =>
        Akka.Actor.Props.Create(() => new ReplicaActor(store, campaign, coordinator, log));
}
