using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Messages;

namespace Fuzz.Coordinator.Farm;

public enum WorkerState { Alive, Lost, Left }

/// <param name="LostBecause">Why it counts as lost (silence, or its connection closed), when it does.</param>
public sealed record WorkerInfo(string Name, DateTime FirstSeen, DateTime LastSeen, WorkerState State, Heartbeat Last, string? LostBecause = null)
{
    /// <summary>When the worker sent <see cref="Last"/>, by its clock.</summary>
    public long LastSentUnixMs { get; init; }
}

/// <summary>
/// The farm's workers, from their messages and goodbyes and, where the transport has them, the
/// broker's events about their connections (a worker whose connection closes is lost at once).
/// </summary>
internal sealed class WorkerRegistry(TimeSpan timeout, Func<bool> active, Action<string> log)
{
    public const string LostByConnectionEvent = "connection closed (broker event)";

    private readonly Dictionary<string, WorkerInfo> _workers = new(StringComparer.Ordinal);

    /// <summary>Per worker, its connections the broker said were opened and not yet closed.</summary>
    private readonly Dictionary<string, HashSet<string>> _connections = new(StringComparer.Ordinal);

    /// <summary>Per worker lost by a connection event, the broker's time of it: messages sent before then do not bring it back.</summary>
    private readonly Dictionary<string, long> _closedAtUnixMs = new(StringComparer.Ordinal);
    private long _connectionEvents, _connectionEventsMalformed;

    public IReadOnlyList<WorkerInfo> All { get { lock (_workers) return _workers.Values.OrderBy(w => w.Name, StringComparer.Ordinal).ToList(); } }

    /// <summary>Broker events about this farm's connections that were read (malformed ones are only counted).</summary>
    public long ConnectionEvents => Interlocked.Read(ref _connectionEvents);
    public long ConnectionEventsMalformed => Interlocked.Read(ref _connectionEventsMalformed);

    public void Seen(string name, Heartbeat? hb, long sentUnixMs)
    {
        var now = DateTime.UtcNow;
        lock (_workers)
        {
            // Sent before its connection closed: queued while it was alive, not a sign of life now.
            if (_closedAtUnixMs.TryGetValue(name, out long closedAt))
            {
                if (sentUnixMs < closedAt) return;
                _closedAtUnixMs.Remove(name);
            }
            if (!_workers.TryGetValue(name, out var w))
            {
                _workers[name] = new WorkerInfo(name, now, now, WorkerState.Alive, hb ?? new Heartbeat()) { LastSentUnixMs = hb is null ? 0 : sentUnixMs };
                log($"worker {name} joined");
                return;
            }
            if (w.State != WorkerState.Alive) log($"worker {name} is back");
            _workers[name] = w with { LastSeen = now, State = WorkerState.Alive, Last = hb ?? w.Last, LastSentUnixMs = hb is null ? w.LastSentUnixMs : sentUnixMs, LostBecause = null };
        }
    }

    /// <summary>
    /// A worker's connection opened: it joined (or is back). One closed: lost at once, unless it
    /// has another open connection (a reconnection seen before the old connection's end) or said
    /// goodbye. Only while active: a standby hears no heartbeats and would lose every worker again.
    /// </summary>
    public Task OnConnectionEvent(ConnectionEvent e)
    {
        if (e.Kind == ConnectionEventKind.Malformed)
        {
            if (Interlocked.Increment(ref _connectionEventsMalformed) <= 10) log($"a broker connection event ignored: {e.Problem}");
            return Task.CompletedTask;
        }
        Interlocked.Increment(ref _connectionEvents);
        if (e.Role != ConnectionNames.Worker || !active()) return Task.CompletedTask;
        lock (_workers)
        {
            if (!_connections.TryGetValue(e.Name, out var open)) _connections[e.Name] = open = new HashSet<string>(StringComparer.Ordinal);
            if (e.Kind == ConnectionEventKind.Opened)
            {
                open.Add(e.Connection);
                _closedAtUnixMs.Remove(e.Name);
                Seen(e.Name, null, long.MaxValue);
                return Task.CompletedTask;
            }
            open.Remove(e.Connection);
            if (open.Count > 0 || !_workers.TryGetValue(e.Name, out var w) || w.State == WorkerState.Left) return Task.CompletedTask;
            _closedAtUnixMs[e.Name] = e.BrokerUnixMs;
            if (w.State == WorkerState.Alive)
            {
                _workers[e.Name] = w with { State = WorkerState.Lost, LostBecause = LostByConnectionEvent };
                log($"worker {e.Name} lost: {LostByConnectionEvent}, {(DateTime.UtcNow - w.LastSeen).TotalSeconds:F1}s after its last message");
            }
        }
        return Task.CompletedTask;
    }

    public void Left(string name)
    {
        lock (_workers)
            if (_workers.TryGetValue(name, out var w))
            {
                _workers[name] = w with { State = WorkerState.Left, LastSeen = DateTime.UtcNow };
                log($"worker {name} left");
            }
    }

    /// <summary>Marks lost every alive worker silent for longer than the timeout.</summary>
    public void ExpireSilent(DateTime now)
    {
        lock (_workers)
            foreach (var w in _workers.Values.ToList())
                if (w.State == WorkerState.Alive && now - w.LastSeen > timeout)
                {
                    _workers[w.Name] = w with { State = WorkerState.Lost, LostBecause = $"nothing from it for {timeout.TotalSeconds:0.#}s" };
                    log($"worker {w.Name} lost (nothing from it for {(now - w.LastSeen).TotalSeconds:F1}s)");
                }
    }
}
