using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Fuzzing;

namespace Fuzz.Coordinator.Cluster;

/// <summary>
/// A coordinator node of an Akka cluster: this node's <see cref="FarmStore"/>, its replica, and the
/// singleton manager that runs the <see cref="CoordinatorActor"/> here while this is the oldest
/// coordinator node (every other coordinator node is a hot standby).
/// </summary>
public sealed class CoordinatorCluster : IAsyncDisposable
{
    private int _disposed;

    private readonly PauseGuard _guard;

    private CoordinatorCluster(ActorSystem system, FarmStore store, Action<string> log)
    {
        System = system;
        Store = store;
        _guard = new PauseGuard(system, log);
    }

    public ActorSystem System { get; }
    public FarmStore Store { get; }

    public static CoordinatorCluster Start(CoordinatorOptions options, ITargetFactory factory, string campaign,
        (string Host, int Port) listen, IReadOnlyList<(string Host, int Port)> seeds, Action<string> log)
    {
        var store = new FarmStore(options, factory, log);
        var system = ActorSystem.Create(FarmConfig.SystemName, FarmConfig.Cluster(listen.Host, listen.Port, FarmConfig.CoordinatorRole, seeds));
        system.ActorOf(MembershipLog.Props(log), "members");
        system.ActorOf(ClusterSingletonManager.Props(
            CoordinatorActor.Props(store, campaign, log), PoisonPill.Instance,
            ClusterSingletonManagerSettings.Create(system).WithRole(FarmConfig.CoordinatorRole).WithHandOverRetryInterval(TimeSpan.FromSeconds(1))),
            FarmConfig.CoordinatorPath.TrimStart('/').Split('/')[1]);
        var proxy = system.ActorOf(ClusterSingletonProxy.Props(FarmConfig.CoordinatorPath,
            ClusterSingletonProxySettings.Create(system).WithRole(FarmConfig.CoordinatorRole).WithBufferSize(FarmConfig.ProxyBuffer)), "coordinator-proxy");
        system.ActorOf(ReplicaActor.Props(store, campaign, proxy, log), ReplicaActor.Name);
        return new CoordinatorCluster(system, store, log);
    }

    public string Address => Akka.Cluster.Cluster.Get(System).SelfAddress.ToString();

    /// <summary>Leaves the cluster (the singleton moves to a standby), then closes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _guard.Dispose();
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance).ConfigureAwait(false);
        Store.Dispose();
    }
}
