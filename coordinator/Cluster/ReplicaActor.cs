using Akka.Actor;
using Fuzz.Engine.Cluster.Contract;

namespace Fuzz.Coordinator.Cluster;

/// <summary>
/// On every coordinator node: takes what the active coordinator accepted and filed into this node's
/// <see cref="FarmStore"/>, so that it is all here when this node's singleton takes over.
/// </summary>
public sealed class ReplicaActor : ReceiveActor
{
    public const string Name = "replica";

    public ReplicaActor(FarmStore store, string campaign, Action<string> log)
    {
        Receive<Accepted>(a =>
        {
            if (a.Header.Campaign != campaign) return;
            store.Adopt(a.Inputs);
        });
        Receive<FiledCrash>(f =>
        {
            if (f.Header.Campaign != campaign) return;
            if (store.Adopt(f)) log($"crash {f.Signature} copied from {f.Header.Sender}");
        });
    }

    public static Props Props(FarmStore store, string campaign, Action<string> log) =>
        Akka.Actor.Props.Create(() => new ReplicaActor(store, campaign, log));
}
