using Akka.Actor;
using Akka.Cluster.Tools.Singleton;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Fuzzing;
using Fuzz.Worker.Node;

namespace Fuzz.Worker.Cluster;

/// <summary>A worker node of an Akka cluster: a <see cref="WorkerActor"/> reporting to the coordinator singleton through a proxy.</summary>
public sealed class WorkerCluster : IAsyncDisposable
{
    private readonly IActorRef _worker;
    private int _disposed;

    private readonly PauseGuard _guard;

    private WorkerCluster(ActorSystem system, IActorRef worker, Action<string> log)
    {
        System = system;
        _worker = worker;
        _guard = new PauseGuard(system, log);
    }

    public ActorSystem System { get; }

    public static WorkerCluster Start(WorkerOptions options, ITargetFactory factory, (string Host, int Port) listen, IReadOnlyList<(string Host, int Port)> seeds, Action<string> log)
    {
        var system = ActorSystem.Create(FarmConfig.SystemName, FarmConfig.Cluster(listen.Host, listen.Port, FarmConfig.WorkerRole, seeds));
        system.ActorOf(MembershipLog.Props(log), "members");
        var proxy = system.ActorOf(ClusterSingletonProxy.Props(FarmConfig.CoordinatorPath,
            ClusterSingletonProxySettings.Create(system).WithRole(FarmConfig.CoordinatorRole).WithBufferSize(FarmConfig.ProxyBuffer)), "coordinator-proxy");
        var worker = system.ActorOf(WorkerActor.Props(options, factory, proxy, log), "worker");
        return new WorkerCluster(system, worker, log);
    }

    public string Address => Akka.Cluster.Cluster.Get(System).SelfAddress.ToString();

    /// <summary>Stops the loops and waits (up to <paramref name="flush"/>) for the coordinator to acknowledge what is left.</summary>
    public async Task<WorkerActor.Stopped?> StopAsync(TimeSpan flush)
    {
        try
        {
            return await _worker.Ask<WorkerActor.Stopped>(new WorkerActor.Stop(flush), flush + TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _guard.Dispose();
        await CoordinatedShutdown.Get(System).Run(CoordinatedShutdown.ClusterLeavingReason.Instance).ConfigureAwait(false);
    }
}
