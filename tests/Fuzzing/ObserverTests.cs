using Fuzz.Engine.Invariants;
using Fuzz.Engine.Locks;
using Fuzz.Engine.Memory;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Fuzzing;

/// <summary>What the machine tells its observer, and the event values the features are made of.</summary>
public class ObserverTests
{
    private sealed class Recorder : IExecutionObserver
    {
        public readonly List<string> Seen = [];
        public void Conflict(Access previous, Access current, in SimMemory.ObjectInfo target, int word) =>
            Seen.Add($"conflict {previous.Actor}:{previous.Kind} {current.Actor}:{current.Kind} kind {target.Kind} word {word}");
        public void Event(uint kind, ulong argument, Actor? actor, Actor? peer) => Seen.Add($"event {kind} {argument} {actor?.Name} {peer?.Name}");
        public void ContextSwitch(Actor from, Actor to, bool preempted) => Seen.Add($"switch {from.Name} {to.Name} {preempted}");
        public void Finished(int preemptions, int contextSwitches, int actors) => Seen.Add($"finished {preemptions} {contextSwitches} {actors}");
    }

    [Fact]
    public void Event_kinds_keep_the_values_the_features_were_computed_with()
    {
        Assert.Equal(1u, (uint)LockEvent.WriteHandOff);
        Assert.Equal(Enumerable.Range(2, 8).Select(v => (uint)v), Enum.GetValues<MmuEvent>().Take(8).Select(e => (uint)e));
        Assert.Equal(32u, (uint)MmuEvent.PteListDescPrepended);
        Assert.Equal(33u, (uint)MmuEvent.FastPageFaultFixed);
        Assert.Equal(34u, (uint)MmuEvent.FastPageFaultRace);
        Assert.Equal(35u, (uint)MmuEvent.AgingCmpxchgFailed);
        Assert.Equal(36u, (uint)MmuEvent.ShadowPageAllocated);
        Assert.Equal(37u, (uint)MmuEvent.ShadowPageZapped);
        Assert.Equal(38u, (uint)MmuEvent.MmuPagesRecycled);
        Assert.Equal(39u, (uint)MmuEvent.ShadowPageOrphaned);
        Assert.Equal(40u, (uint)MmuEvent.MmioSpteCreated);
        Assert.Equal(41u, (uint)MmuEvent.MmioSpteStale);
        Assert.Equal(42u, (uint)MmuEvent.MmioInfoCacheHit);
        Assert.Equal(43u, (uint)MmuEvent.MmioGenerationWrap);
        var values = Enum.GetValues<MmuEvent>().Select(e => (uint)e).ToArray();
        Assert.Equal(values.Length, values.Distinct().Count());
        Assert.DoesNotContain((uint)LockEvent.WriteHandOff, values);
    }

    [Fact]
    public void The_machine_reports_conflicts_events_switches_and_the_end()
    {
        var seen = new Recorder();
        var m = new Machine(RuntimeInvariants.Default) { Observer = seen };
        m.Reset();
        ulong w = m.Memory.Alloc(2, kind: 5);
        IEnumerator<object?> Writer()
        {
            yield return null;
            m.Memory.Write(w + 8, 1);
        }
        IEnumerator<object?> Reader()
        {
            yield return null;
            m.Memory.Read(w + 8);
            m.Event(MmuEvent.StaleFaultRetry, 7, peer: 0);
        }
        m.Spawn("t0", Writer());
        m.Spawn("t1", Reader());
        m.Run(new InputStrategy([0, 0, 1]));
        Assert.Equal(
        [
            "switch t0 t1 False",
            "conflict 0:Write 1:Read kind 5 word 1",
            "event 5 7 t1 t0",
            "finished 0 1 2",
        ], seen.Seen);
    }
}
