using System.Diagnostics;
using Akka.Actor;

namespace Fuzz.Engine.Cluster;

/// <summary>
/// Ends a node's actor system when the process was frozen (SIGSTOP, a suspended VM) for
/// <see cref="FarmConfig.StableAfter"/> or longer. By then the rest of the cluster may have downed
/// it and moved the singleton elsewhere, and it cannot learn so, since they no longer talk to it:
/// its own Split Brain Resolver, seeing everyone unreachable at once, would keep it running as a
/// second coordinator. A node that stops is safe either way (if nobody downed it, the others do now).
/// </summary>
public sealed class PauseGuard : IDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(200);
    private readonly ActorSystem _system;
    private readonly Action<string> _log;
    private readonly Thread _thread;
    private volatile bool _stop;

    public PauseGuard(ActorSystem system, Action<string> log)
    {
        _system = system;
        _log = log;
        _thread = new Thread(Watch) { IsBackground = true, Name = "pause guard" };
        _thread.Start();
    }

    /// <summary>The pause this node took, when <see cref="Tripped"/>.</summary>
    public TimeSpan? Tripped { get; private set; }

    private void Watch()
    {
        var clock = Stopwatch.StartNew();
        var last = clock.Elapsed;
        while (!_stop)
        {
            Thread.Sleep(Tick);
            var now = clock.Elapsed;
            var gap = now - last - Tick;
            last = now;
            if (gap < FarmConfig.StableAfter) continue;
            Tripped = gap;
            _log($"this node was frozen for {gap.TotalSeconds:F1}s, at least stable-after ({FarmConfig.StableAfter.TotalSeconds:0}s): the cluster may have downed it, so it stops");
            _system.Terminate();
            return;
        }
    }

    public void Dispose()
    {
        _stop = true;
        _thread.Join();
    }
}
