namespace Fuzz.Targets.Mmu;

/// <summary>
/// Write tracking (arch/x86/kvm/mmu/page_track.c), as KVMGT and shadow paging use it: a tracked
/// gfn is mapped without W and without MMU-writable, so every guest write to it faults and is
/// emulated, and fast_page_fault() cannot restore W behind the tracker's back.
/// </summary>
public sealed partial class Kvm
{
    private ulong WriteTrackAddr(ulong slot, ulong gfn) =>
        _mem.ReadConst(slot + SGfnWriteTrack * 8) + (gfn - _mem.ReadConst(slot + SBaseGfn * 8)) * 8;

    /// <summary>kvm_gfn_is_write_tracked(): READ_ONCE of the gfn's count; the caller has passed a scheduling point.</summary>
    private bool KvmGfnIsWriteTracked(ulong slot, ulong gfn) => _mem.Read(WriteTrackAddr(slot, gfn)) != 0;

    /// <summary>
    /// kvm_write_track_add_gfn() (<paramref name="add"/>) and kvm_write_track_remove_gfn(): under SRCU
    /// and mmu_lock, update_gfn_write_track(). Adding also clears W and MMU-writable from the gfn's
    /// SPTEs (kvm_mmu_slot_gfn_write_protect() → rmap_write_protect() with pt_protect) and flushes
    /// before the unlock; removing drops one count (callers pair it with an add: the model's caller
    /// removes only what it added), and the SPTEs regain W on the next fault.
    /// </summary>
    internal Co KvmWriteTrackGfn(ulong gfn, bool add)
    {
        var self = Self;
        yield return null;
        int idx = SrcuReadLock();
        yield return null;
        ulong slot = GfnToMemslot(CurrentMemslots, gfn);
        if (slot != 0)
        {
            int id = (int)_mem.ReadConst(slot + SId * 8);
            yield return null;
            while (!TryWriteLockMmu()) yield return null;
            ulong count = WriteTrackAddr(slot, gfn);
            yield return null;
            ulong n = _mem.Read(count);
            if (add)
            {
                _mem.Write(count, n + 1);
                bool flush = false;
                for (int level = 1; level <= Levels; level++)
                {
                    yield return Call(RmapWriteProtect(GfnToRmap(slot, gfn, level), ptProtect: true));
                    flush |= self.Ret != 0;
                }
                if (flush) yield return Call(KvmFlushRemoteTlbs());
            }
            else if (n != 0)
            {
                _check.OnWriteTrackRemoving(id, gfn);
                _mem.Write(count, n - 1);
            }
            yield return null;
            WriteUnlockMmu();
            if (add)
            {
                _check.OnWriteTrackAdded(id, gfn);
                if (Tracing) _m.Log($"gfn 0x{gfn:x} write-tracked");
            }
        }
        yield return null;
        SrcuReadUnlock(idx);
    }
}
