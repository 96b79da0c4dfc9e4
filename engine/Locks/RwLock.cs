using Fuzz.Engine.Memory;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Locks;

/// <summary>
/// A reader-writer spinlock in one simulated word, taken for write only (bit 0): the shadow MMU
/// never takes mmu_lock for read. A contender blocks until the word changes instead of burning steps.
/// </summary>
public sealed class RwLock
{
    public const ulong Writer = 1;

    private readonly Machine _machine;
    private int _lastReleaser = -1;

    public RwLock(Machine machine, ulong addr)
    {
        _machine = machine;
        Addr = addr;
    }

    public ulong Addr { get; }

    /// <summary>Actor holding the lock for write, or -1.</summary>
    public int WriteHolder { get; private set; } = -1;
    public long AcquiredAtStep { get; private set; }

    /// <summary>The write holder's own step count when it took the lock (a descheduled holder makes no progress).</summary>
    public long AcquiredAtOwnStep { get; private set; }

    public void Reset()
    {
        WriteHolder = -1;
        _lastReleaser = -1;
    }

    public bool IsWriteHeldBy(Actor a) => WriteHolder == a.Id;

    /// <summary>True when another actor is spinning on the lock (rwlock_needbreak).</summary>
    public bool Contended => _machine.WaitersOn(Addr) > 0;

    /// <summary>
    /// One pass of write_lock()'s spin, each after a scheduling point:
    /// <c>yield return null; while (!l.TryWriteLock(self)) yield return null;</c>.
    /// When the lock is held the actor blocks until the word changes.
    /// </summary>
    public bool TryWriteLock(Actor self)
    {
        var mem = _machine.Memory;
        ulong v = mem.Read(Addr);
        if (v != 0)
        {
            self.WaitWhileEquals(Addr, v);
            return false;
        }
        mem.Write(Addr, Writer);
        WriteHolder = self.Id;
        AcquiredAtStep = _machine.Step;
        AcquiredAtOwnStep = self.Steps;
        if (_lastReleaser >= 0 && _lastReleaser != self.Id) _machine.Event(LockEvent.WriteHandOff, Addr, _lastReleaser);
        return true;
    }

    /// <summary>Releases a write hold; the caller has passed a scheduling point.</summary>
    public void WriteUnlock(Actor self)
    {
        _machine.Memory.Write(Addr, 0);
        WriteHolder = -1;
        _lastReleaser = self.Id;
    }
}
