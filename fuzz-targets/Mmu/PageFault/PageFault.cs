namespace Fuzz.Targets.Mmu;

/// <summary>struct kvm_page_fault: what the fault path carries from the seq snapshot to the install.</summary>
internal sealed class KvmPageFault
{
    public ulong Gfn;
    public int Alias;
    public bool Write;
    public bool Present;          // PFERR_PRESENT_MASK: the SPTE had R, W or X when the access faulted
    public ulong Slot;
    public ulong MmuSeq;
    public ulong Pfn;
    public bool MapWritable;
}

public sealed partial class Kvm
{
    internal const ulong RetPfFixed = 0, RetPfRetry = 1, RetPfEmulate = 2, RetPfEfault = 3, RetPfSpurious = 4,
        RetPfWriteProtected = 5, RetPfInvalid = 6;

    /// <summary>kvm_mmu_page_fault(): retries RET_PF_RETRY like a vCPU re-entering the guest would, a few times.</summary>
    internal Co KvmMmuPageFault(Vcpu vcpu, int alias, ulong gfn, bool write, bool present)
    {
        var self = Self;
        ulong r = RetPfRetry;
        for (int attempt = 0; attempt < 3 && r == RetPfRetry; attempt++)
        {
            yield return null;
            int idx = SrcuReadLock();
            yield return Call(DirectPageFault(vcpu, new KvmPageFault { Gfn = gfn, Alias = alias, Write = write, Present = present }));
            r = self.Ret;
            yield return null;
            SrcuReadUnlock(idx);
        }
        if (Tracing) _m.Log($"page fault gfn 0x{gfn:x} alias {alias} {(write ? "write" : "read")} -> {RetName(r)}");
        self.Ret = r;
    }

    private static string RetName(ulong r) => r switch
    {
        RetPfFixed => "fixed", RetPfRetry => "retry", RetPfEmulate => "MMIO (emulate)", RetPfSpurious => "spurious",
        RetPfWriteProtected => "write-tracked (emulate)", _ => "-EFAULT",
    };

    /// <summary>
    /// direct_page_fault(), the shadow MMU's direct map; the caller holds SRCU. A write to a
    /// write-tracked gfn is emulated; fast_page_fault() gets the first try; the slow path marks the
    /// folio dirty when it finishes under mmu_lock (kvm_mmu_finish_page_fault()).
    /// </summary>
    private Co DirectPageFault(Vcpu vcpu, KvmPageFault fault)
    {
        var self = Self;
        yield return null;
        fault.Slot = GfnToMemslot(CurrentMemslots, fault.Gfn);
        if (fault.Slot == 0) { yield return Call(KvmHandleNoslotFault(vcpu, fault)); yield break; }
        if (fault.Present && fault.Write)                   // page_fault_handle_page_track()
        {
            yield return null;
            if (KvmGfnIsWriteTracked(fault.Slot, fault.Gfn)) { self.Ret = RetPfWriteProtected; yield break; }
        }
        yield return Call(FastPageFault(vcpu, fault));
        if (self.Ret != RetPfInvalid) yield break;
        if ((_mem.ReadConst(fault.Slot + SFlags * 8) & KvmMemslotInvalid) != 0) { self.Ret = RetPfRetry; yield break; }

        // kvm_mmu_faultin_pfn(): snapshot the sequence before resolving the pfn (smp_rmb() after).
        yield return null;
        fault.MmuSeq = _mem.Read(SeqAddr);
        _check.OnFaultSnapshot(fault);
        yield return null;
        if (MmuInvalidateRetryGfnUnsafe(fault.MmuSeq, fault.Gfn)) { self.Ret = RetPfRetry; yield break; }

        ulong hva = _mem.ReadConst(fault.Slot + SUserspaceAddr * 8) + (fault.Gfn - _mem.ReadConst(fault.Slot + SBaseGfn * 8));
        yield return Call(HvaToPfn(hva, fault.Write));
        if (self.Ret == 0) { self.Ret = RetPfEfault; yield break; }
        fault.Pfn = self.Ret & ~(1UL << 63);
        fault.MapWritable = (self.Ret >> 63) != 0;

        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        if (!_bugs.Has(Bugs.StaleFault) && IsPageFaultStale(fault))
        {
            _m.Event(MmuEvent.StaleFaultRetry, fault.Gfn);
            if (Tracing) _m.Log($"fault on gfn 0x{fault.Gfn:x} is stale (seq {fault.MmuSeq} vs {_mem.Read(SeqAddr)}), retry");
            yield return null;
            WriteUnlockMmu();
            self.Ret = RetPfRetry;
            yield break;
        }
        yield return Call(MapLeafSpte(vcpu, fault));
        if (self.Ret == 0)
        {
            yield return null;
            WriteUnlockMmu();
            self.Ret = RetPfEfault;                        // -ENOSPC
            yield break;
        }
        yield return Call(MmuSetSpte(fault, self.Ret));
        if (fault.MapWritable) SetPfnDirty(fault.Pfn);     // kvm_release_faultin_page(..., fault->map_writable)
        yield return null;
        WriteUnlockMmu();
        self.Ret = RetPfFixed;
    }

    /// <summary>
    /// With mmu_lock held: kvm_mmu_load() (the vCPU's root for the fault's translation),
    /// make_mmu_pages_available(), then direct_map() down to the leaf. Ret = the leaf SPTE pointer,
    /// or 0 when no page could be made available (-ENOSPC).
    /// </summary>
    private Co MapLeafSpte(Vcpu vcpu, KvmPageFault fault)
    {
        var self = Self;
        yield return Call(KvmMmuLoad(vcpu, fault.Alias));
        ulong root = self.Ret;
        if (root == 0) yield break;
        yield return Call(MakeMmuPagesAvailable());
        if (self.Ret != 0) { self.Ret = 0; yield break; }
        yield return Call(DirectMapWalk(root, fault));
    }

    /// <summary>mmu_invalidate_retry_gfn_unsafe(): the early, lockless check; a hint only.</summary>
    private bool MmuInvalidateRetryGfnUnsafe(ulong mmuSeq, ulong gfn)
    {
        if (_mem.Read(InProgressAddr) != 0 && gfn >= _mem.Read(RangeStartAddr) && gfn < _mem.Read(RangeEndAddr)) return true;
        return _mem.Read(SeqAddr) != mmuSeq;
    }

    /// <summary>is_page_fault_stale() → mmu_invalidate_retry_gfn(), with mmu_lock held.</summary>
    private bool IsPageFaultStale(KvmPageFault fault)
    {
        if (_mem.Read(InProgressAddr) != 0)
        {
            ulong start = _mem.Read(RangeStartAddr), end = _mem.Read(RangeEndAddr);
            if (start == InvalidGpa || end == InvalidGpa) return true;
            if (fault.Gfn >= start && fault.Gfn < end) return true;
        }
        return _mem.Read(SeqAddr) != fault.MmuSeq;
    }

    /// <summary>
    /// hva_to_pfn(): GUP on the host page table. A read fault maps writable when the host PTE
    /// allows it (map_writable). Ret = pfn | (writable &lt;&lt; 63), or 0 for -EFAULT.
    /// </summary>
    private Co HvaToPfn(ulong hva, bool write)
    {
        var self = Self;
        ulong ptep = HostPteAddr(hva);
        while (true)
        {
            yield return null;
            ulong pte = _mem.Read(ptep);
            bool vmWrite = (pte & HostPte.VmWrite) != 0;
            if ((pte & HostPte.Present) != 0 && (!write || (pte & HostPte.Writable) != 0))
            {
                self.Ret = HostPte.Pfn(pte) | ((pte & HostPte.Writable) != 0 ? 1UL << 63 : 0);
                yield break;
            }
            if (write && !vmWrite) { self.Ret = 0; yield break; }
            // handle_mm_fault(): break COW on a write-protected present page, or populate the page.
            if ((pte & HostPte.Present) != 0) { yield return Call(WpPageCopy(hva)); continue; }
            ulong fresh = AllocPfn();
            ulong newPte = (fresh << 12) | HostPte.Present | (pte & HostPte.VmWrite) | (vmWrite ? HostPte.Writable : 0);
            yield return null;
            if (_mem.CompareExchange(ptep, pte, newPte) != pte) Pfns[(int)fresh] = PfnState.Freed;
        }
    }

    /// <summary>
    /// mmu_set_spte(): replace a present SPTE of another pfn (drop + flush), build the new SPTE,
    /// install or update it, flush if needed, and add it to the rmap if it was not there.
    /// </summary>
    private Co MmuSetSpte(KvmPageFault fault, ulong sptep)
    {
        bool flush = false, wasRmapped = false;
        yield return null;
        ulong old = _mem.Read(sptep);
        if (Spte.IsShadowPresent(old))
        {
            if (Spte.ToPfn(old) != fault.Pfn)
            {
                yield return Call(DropSpte(sptep));
                flush = true;
                old = 0;
            }
            else wasRmapped = true;
        }
        ulong logging = _mem.ReadConst(fault.Slot + SFlags * 8) & KvmMemLogDirtyPages;
        yield return null;
        ulong spte = MakeSpte(fault);
        if (Spte.IsWritable(spte) && logging != 0)
            yield return Call(MarkPageDirtyInSlot(fault.Slot, fault.Gfn));
        yield return null;
        _check.OnFaultInstall(fault, sptep, spte);
        if (!Spte.IsShadowPresent(old)) MmuSpteSet(sptep, spte);
        else if (_mem.Read(sptep) != spte) flush |= MmuSpteUpdate(sptep, spte);
        if (flush) yield return Call(KvmFlushRemoteTlbs());
        if (!wasRmapped)
        {
            yield return Call(PteListAdd(sptep, GfnToRmap(fault.Slot, fault.Gfn, 1)));
        }
    }

    /// <summary>
    /// make_spte() for a direct leaf with ACC_ALL, not prefetched: Accessed (EPT keeps the bit even
    /// with A/D disabled), W and MMU-writable when the host allows writes, Dirty too when A/D bits are
    /// on. A write-tracked gfn gets neither W nor MMU-writable (mmu_try_to_unsync_pages() refuses).
    /// Reads the write-track count: one step, under mmu_lock.
    /// </summary>
    private ulong MakeSpte(KvmPageFault fault)
    {
        ulong spte = Spte.MmuPresent | Spte.Readable | Spte.Executable | Spte.Accessed | (fault.Pfn << Spte.PfnShift);
        if (!AdEnabled) spte |= Spte.AdDisabled;
        if (fault.MapWritable)
        {
            spte |= Spte.HostWritable;
            if (!KvmGfnIsWriteTracked(fault.Slot, fault.Gfn))
            {
                spte |= Spte.MmuWritable | Spte.Writable;
                if (AdEnabled) spte |= Spte.Dirty;
            }
        }
        return spte;
    }

    /// <summary>mark_page_dirty_in_slot(): set_bit in the slot's dirty bitmap, if the slot logs dirty pages.</summary>
    private Co MarkPageDirtyInSlot(ulong slot, ulong gfn)
    {
        ulong bitmap = _mem.ReadConst(slot + SDirtyBitmap * 8);
        if (bitmap == 0 || (_mem.ReadConst(slot + SFlags * 8) & KvmMemLogDirtyPages) == 0) yield break;
        ulong rel = gfn - _mem.ReadConst(slot + SBaseGfn * 8);
        yield return null;
        _mem.FetchOr(bitmap + (rel / 64) * 8, 1UL << (int)(rel % 64));
        _check.OnMarkPageDirty((int)_mem.ReadConst(slot + SId * 8), gfn);
    }
}
