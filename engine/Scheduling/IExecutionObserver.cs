using Fuzz.Engine.Memory;

namespace Fuzz.Engine.Scheduling;

/// <summary>
/// Told what an execution did, as it does it: conflicting accesses, model events, context switches
/// and the end of the run. The machine calls it on its hot path, so implementations neither
/// allocate nor throw.
/// </summary>
public interface IExecutionObserver : IAccessObserver
{
    /// <summary>
    /// A model event (see <see cref="Machine.Event"/>): the value of its kind and argument, the
    /// running actor, and the other actor involved (e.g. the previous lock holder) if any.
    /// </summary>
    void Event(uint kind, ulong argument, Actor? actor, Actor? peer);

    /// <summary>The machine switched from <paramref name="from"/> to <paramref name="to"/>; <paramref name="preempted"/> when <paramref name="from"/> could have gone on.</summary>
    void ContextSwitch(Actor from, Actor to, bool preempted);

    /// <summary>Every actor finished (not called when the run ends in a violation).</summary>
    void Finished(int preemptions, int contextSwitches, int actors);
}
