namespace Fuzz.Targets.Mmu;

/// <summary>
/// Invariant 4: the rmap lock is taken only on a non-empty rmap, by one holder at a time, for write
/// only under mmu_lock held for write; it is released by its holder, a read-only holder changes
/// nothing, and nothing is left locked once the actors are done.
/// </summary>
internal sealed partial class Checker
{
    private readonly Dictionary<ulong, (int Actor, bool ReadOnly)> _rmapHolders = new();

    public void OnRmapLocked(ulong head, ulong old, bool readOnly)
    {
        var self = _kvm.Self;
        if (old == 0) throw Fail(Invariant.RmapLock, "__kvm_rmap_lock", $"rmap 0x{head:x} locked while empty");
        if (_rmapHolders.TryGetValue(head, out var h))
            throw Fail(Invariant.RmapLock, "__kvm_rmap_lock", $"rmap 0x{head:x} locked by actor {self.Id} while actor {h.Actor} holds it");
        if (!readOnly && !_kvm.MmuLock.IsWriteHeldBy(self))
            throw Fail(Invariant.RmapLock, "kvm_rmap_lock", $"rmap 0x{head:x} locked for write without mmu_lock held for write");
        _rmapHolders[head] = (self.Id, readOnly);
    }

    public void OnRmapUnlock(ulong head, ulong newVal)
    {
        var self = _kvm.Self;
        ulong cur = Mem.Peek(head);
        bool held = _rmapHolders.TryGetValue(head, out var h);
        if (held && (h.Actor != self.Id || h.ReadOnly))
            throw Fail(Invariant.RmapLock, "kvm_rmap_unlock", $"rmap 0x{head:x} unlocked by actor {self.Id}, but held by actor {h.Actor}{(h.ReadOnly ? " read-only" : "")}");
        if (!held && cur != 0)
            throw Fail(Invariant.RmapLock, "kvm_rmap_unlock", $"rmap 0x{head:x} (0x{cur:x}) written by actor {self.Id} without holding its lock");
        if ((newVal & Kvm.KvmRmapLocked) != 0)
            throw Fail(Invariant.RmapLock, "kvm_rmap_unlock", $"unlock of rmap 0x{head:x} stores LOCKED");
        if (newVal != (cur & ~Kvm.KvmRmapLocked) && !_kvm.MmuLock.IsWriteHeldBy(self))
            throw Fail(Invariant.RmapLock, "kvm_rmap_unlock", $"rmap 0x{head:x} chain changed without mmu_lock held for write");
        _rmapHolders.Remove(head);
        _rmapsChanged = true;
        CheckShape(head, newVal);
    }

    public void OnRmapUnlockReadonly(ulong head, ulong oldVal)
    {
        var self = _kvm.Self;
        ulong cur = Mem.Peek(head);
        _rmapsChanged = true;
        if (oldVal == 0 && cur == 0) return;
        if (oldVal != (cur & ~Kvm.KvmRmapLocked))
            throw Fail(Invariant.RmapLock, "kvm_rmap_unlock_readonly",
                $"read-only unlock by actor {self.Id} writes 0x{oldVal:x} over rmap 0x{head:x} = 0x{cur:x}: a read-only holder changed the rmap");
        if (!_rmapHolders.TryGetValue(head, out var h) || h.Actor != self.Id || !h.ReadOnly)
            throw Fail(Invariant.RmapLock, "kvm_rmap_unlock_readonly", $"actor {self.Id} unlocks rmap 0x{head:x} it does not hold read-only");
        _rmapHolders.Remove(head);
    }

    private void CheckNoRmapHeld()
    {
        foreach (var (head, h) in _rmapHolders)
            throw Fail(Invariant.RmapLock, "quiescent", $"rmap 0x{head:x} still locked by actor {h.Actor}{(h.ReadOnly ? " (read-only)" : "")} after its operation finished");
    }

    private void CheckNoRmapLocked()
    {
        foreach (var (_, slot) in Memslots)
            for (int level = 1; level <= Kvm.Levels; level++)
            {
                var (first, last) = SlotRmaps(slot, level);
                for (ulong head = first; head <= last; head += 8)
                    if ((Mem.Peek(head) & Kvm.KvmRmapLocked) != 0)
                        throw Fail(Invariant.RmapLock, "quiescent", $"rmap 0x{head:x} left LOCKED with no holder running");
            }
    }
}
