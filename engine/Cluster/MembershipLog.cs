using Akka.Actor;
using Akka.Cluster;

namespace Fuzz.Engine.Cluster;

/// <summary>A line for every node that joins, becomes unreachable, comes back or leaves the cluster.</summary>
public sealed class MembershipLog : ReceiveActor
{
    public MembershipLog(Action<string> log)
    {
        var cluster = Akka.Cluster.Cluster.Get(Context.System);
        Receive<ClusterEvent.MemberUp>(m => log($"cluster: {Describe(m.Member)} is up"));
        Receive<ClusterEvent.UnreachableMember>(m => log($"cluster: {Describe(m.Member)} is unreachable"));
        Receive<ClusterEvent.ReachableMember>(m => log($"cluster: {Describe(m.Member)} is reachable again"));
        Receive<ClusterEvent.MemberRemoved>(m => log($"cluster: {Describe(m.Member)} left ({m.PreviousStatus})"));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.UnreachableMember), typeof(ClusterEvent.ReachableMember));
    }

    protected override void PostStop() => Akka.Cluster.Cluster.Get(Context.System).Unsubscribe(Self);

    public static string Describe(Member m) => $"{string.Join(',', m.Roles)} {m.Address.Host}:{m.Address.Port}";

    public static Props Props(Action<string> log) => Akka.Actor.Props.Create(() => new MembershipLog(log));
}
