namespace Fuzz.Targets.Mmu;

/// <summary>
/// Where a __kvm_rmap_lock() spin is: kvm_rmap_lock() for writers with mmu_lock held for write,
/// kvm_rmap_lock_readonly() for lockless walkers, which may not change the chain.
/// </summary>
internal struct RmapLock(ulong head, bool readOnly)
{
    public enum Pass : byte { Read, Cmpxchg }

    public readonly ulong Head = head;
    public readonly bool ReadOnly = readOnly;
    public Pass Next;
    public ulong Value;
}

public sealed partial class Kvm
{
    public const ulong KvmRmapLocked = 1UL << 1;      // KVM_RMAP_LOCKED

    /// <summary>
    /// __kvm_rmap_lock(), one pass of its spin per call, each after a scheduling point:
    /// <c>var lk = new RmapLock(head, readOnly); yield return null; while (!KvmRmapLockStep(ref lk)) yield return null;</c>.
    /// Elided (Value = 0) for an empty rmap; otherwise spins while LOCKED, re-reads after the pause,
    /// re-checks for empty, and cmpxchgs LOCKED in. Value = the rmap without LOCKED.
    /// </summary>
    private bool KvmRmapLockStep(ref RmapLock lk)
    {
        ulong old;
        if (lk.Next == RmapLock.Pass.Read)
        {
            old = _mem.Read(lk.Head);
        }
        else
        {
            old = _mem.CompareExchange(lk.Head, lk.Value, lk.Value | KvmRmapLocked);
            if (old == lk.Value)
            {
                _check.OnRmapLocked(lk.Head, old, lk.ReadOnly);
                if (Tracing) _m.Log($"rmap 0x{lk.Head:x} locked{(lk.ReadOnly ? " read-only" : "")} (value 0x{old:x})");
                return true;
            }
        }
        lk.Value = old;
        // Also the recheck after spinning: the rmap may have been purged by the task that held the lock.
        if (old == 0)
        {
            if (Tracing) _m.Log($"rmap 0x{lk.Head:x} empty: lock elided{(lk.ReadOnly ? " (read-only)" : "")}");
            return true;
        }
        if ((old & KvmRmapLocked) != 0)
        {
            _m.Event(MmuEvent.RmapLockContended, lk.Head);
            if (Tracing) _m.Log($"spins on LOCKED rmap 0x{lk.Head:x}");
            Self.WaitWhileEquals(lk.Head, old);
            lk.Next = RmapLock.Pass.Read;
            return false;
        }
        lk.Next = RmapLock.Pass.Cmpxchg;
        return false;
    }

    /// <summary>kvm_rmap_unlock(): a release store of the new value; the caller has passed a scheduling point.</summary>
    internal void KvmRmapUnlock(ulong head, ulong newVal)
    {
        _check.OnRmapUnlock(head, newVal);
        _mem.Write(head, newVal);
        if (Tracing) _m.Log($"rmap 0x{head:x} unlocked, value 0x{newVal:x}");
    }

    /// <summary>kvm_rmap_unlock_readonly(): a no-op when the lock was elided on an empty rmap.</summary>
    internal Co KvmRmapUnlockReadonly(ulong head, ulong oldVal)
    {
        if (oldVal == 0 && !_bugs.Has(Bugs.RoUnlockEmpty)) yield break;
        yield return null;
        _check.OnRmapUnlockReadonly(head, oldVal);
        _mem.Write(head, oldVal);
        if (Tracing) _m.Log($"rmap 0x{head:x} unlocked read-only, value 0x{oldVal:x}");
    }
}
