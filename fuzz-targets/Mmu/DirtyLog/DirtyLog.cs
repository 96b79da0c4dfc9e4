namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>
    /// KVM_MEM_LOG_DIRTY_PAGES turned on (KVM_MR_FLAGS_ONLY): publish the new slot, then
    /// kvm_mmu_slot_apply_flags() → kvm_mmu_slot_remove_write_access() under mmu_lock, then an
    /// unconditional flush: an SPTE that is MMU-writable but not W (e.g. access-tracked by aging,
    /// which does not flush) may still be writable in a TLB, and the write-protect walk skips it.
    /// </summary>
    internal Co DirtyLogEnable(int id)
    {
        yield return null;
        while (!TrySlotsLock()) yield return null;
        ulong old = SlotOf(CurrentMemslots, id);
        if (old != 0 && (_mem.ReadConst(old + SFlags * 8) & KvmMemLogDirtyPages) == 0)
        {
            _check.OnWriteProtectStart(id);
            ulong slot = CopyMemslot(old, _mem.ReadConst(old + SFlags * 8) | KvmMemLogDirtyPages);
            _mem.Write(slot + SDirtyBitmap * 8, _mem.Alloc((SlotPages + 63) / 64, ObjDirtyBitmap, Labels.DirtyBitmap[id]));
            yield return Call(KvmSwapActiveMemslots(0, CopyMemslots(CurrentMemslots, id, slot)));
            yield return Call(KvmMmuSlotRemoveWriteAccess(slot));
            yield return null;
            _mem.Free(old);
            _check.OnWriteProtectDone(id);
            if (Tracing) _m.Log($"dirty logging enabled on memslot {id}");
        }
        yield return null;
        SlotsUnlock();
    }

    private Co KvmMmuSlotRemoveWriteAccess(ulong slot)
    {
        ulong baseGfn = _mem.ReadConst(slot + SBaseGfn * 8), npages = _mem.ReadConst(slot + SNpages * 8);
        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        yield return Call(WalkSlotRmaps(slot, _rmapWriteProtect, baseGfn, baseGfn + npages - 1,
            canYield: true, flushOnYield: false, flush: false));
        yield return null;
        WriteUnlockMmu();
        yield return Call(KvmFlushRemoteTlbs());               // kvm_flush_remote_tlbs_memslot()
    }

    /// <summary>
    /// KVM_GET_DIRTY_LOG (kvm_get_dirty_log_protect): under mmu_lock, xchg each bitmap word to 0
    /// and write-protect the gfns it had set; flush after unlocking whenever a word was non-zero,
    /// whatever the write-protect walk found: an SPTE access-tracked by aging (which does not
    /// flush) has lost W already, so the walk skips it while a TLB may still hold it writable.
    /// </summary>
    internal Co DirtyLogGet(int id)
    {
        yield return null;
        while (!TrySlotsLock()) yield return null;
        ulong slot = SlotOf(CurrentMemslots, id);
        if (slot != 0 && (_mem.ReadConst(slot + SFlags * 8) & KvmMemLogDirtyPages) != 0)
        {
            ulong bitmap = _mem.ReadConst(slot + SDirtyBitmap * 8), baseGfn = _mem.ReadConst(slot + SBaseGfn * 8);
            ulong harvested = 0;
            bool flush = false;
            yield return null;
            while (!TryWriteLockMmu()) yield return null;
            for (int w = 0; w < (SlotPages + 63) / 64; w++)
            {
                yield return null;
                ulong mask = _mem.Exchange(bitmap + (ulong)w * 8, 0);
                if (w == 0) harvested = mask;
                for (int bit = 0; bit < 64; bit++)
                {
                    if ((mask & (1UL << bit)) == 0) continue;
                    ulong gfn = baseGfn + (ulong)(w * 64 + bit);
                    yield return Call(RmapWriteProtect(GfnToRmap(slot, gfn, 1), ptProtect: false));
                }
                if (mask == 0) continue;
                flush = true;
                if (Tracing) _m.Log($"dirty log of memslot {id}: word {w} = 0x{mask:x}");
            }
            yield return null;
            WriteUnlockMmu();
            if (flush) yield return Call(KvmFlushRemoteTlbs());
            _check.OnDirtyLogHarvested(id, harvested);
        }
        yield return null;
        SlotsUnlock();
    }

    /// <summary>rmap_write_protect() → spte_write_protect() on each SPTE of the rmap. Ret = flush needed.</summary>
    private Co RmapWriteProtect(ulong head, bool ptProtect)
    {
        var self = Self;
        bool flush = false;
        var iter = default(RmapIterator);
        yield return null;
        for (ulong sptep = RmapGetFirst(head, ref iter); sptep != 0;)   // for_each_rmap_spte()
        {
            yield return null;
            ulong spte = ReadRmapSpte(head, sptep, "rmap_write_protect");
            if (Spte.IsWritable(spte) || (ptProtect && Spte.IsMmuWritable(spte)))
            {
                ulong newSpte = spte & ~Spte.Writable;
                if (ptProtect) newSpte &= ~Spte.MmuWritable;
                yield return null;
                flush |= MmuSpteUpdate(sptep, newSpte);
            }
            yield return null;
            sptep = RmapGetNext(ref iter);
        }
        self.Ret = flush ? 1UL : 0;
    }
}
