using Fuzz.Engine.Memory;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Feedback;

/// <summary>One event kind over a set of executions: how many raised it, the largest argument it carried, and the first execution that raised it.</summary>
public sealed record EventTally(uint Kind, int Executions, ulong MaxArgument, int First);

/// <summary>
/// Which model events a set of executions reached (the corpus of a run, for instance): per event
/// kind, the executions that raised it at least once. Not for the fuzz loop's hot path: it keeps a
/// dictionary.
/// </summary>
public sealed class EventCensus : IExecutionObserver
{
    private readonly Dictionary<uint, (int Executions, ulong Max, int First)> _kinds = new();
    private readonly HashSet<uint> _thisRun = new();
    private int _run = -1;

    /// <summary>Call before each execution.</summary>
    public void BeginExecution()
    {
        _thisRun.Clear();
        _run++;
    }

    public int ExecutionsSeen => _run + 1;

    public void Event(uint kind, ulong argument, Actor? actor, Actor? peer)
    {
        _kinds.TryGetValue(kind, out var t);
        if (_thisRun.Add(kind)) t = (t.Executions + 1, t.Max, t.Executions == 0 ? _run : t.First);
        if (argument > t.Max) t.Max = argument;
        _kinds[kind] = t;
    }

    public IReadOnlyList<EventTally> Tallies =>
        _kinds.OrderBy(k => k.Key).Select(k => new EventTally(k.Key, k.Value.Executions, k.Value.Max, k.Value.First)).ToList();

    public void Conflict(Access previous, Access current, in SimMemory.ObjectInfo target, int word) { }

    public void ContextSwitch(Actor from, Actor to, bool preempted) { }

    public void Finished(int preemptions, int contextSwitches, int actors) { }
}
