namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>
    /// kvm_handle_noslot_fault() → vcpu_cache_mmio_info(), then direct_map() → mmu_set_spte() →
    /// mark_mmio_spte() under mmu_lock (a no-slot fault is never stale: is_page_fault_stale() checks
    /// only faults with a slot). Ret = RET_PF_EMULATE.
    /// </summary>
    /// <remarks>
    /// One change from 6.15+: no MMIO SPTE is made while a memslot update is in progress (the access
    /// is emulated, as without MMIO caching). make_mmio_spte() keeps only the generation's low bits,
    /// so an SPTE made in the window between the wrap's kvm_mmu_zap_all_fast() and the store of the
    /// new generation carries the last generation before the wrap, and check_mmio_spte() accepts it
    /// again 2^(MMIO_SPTE_GEN_BITS-1)-1 updates later, before the next wrap zaps it: invariant 15 on
    /// the kernel's code, reached by a directed schedule of 15 memslot swaps.
    /// </remarks>
    private Co KvmHandleNoslotFault(Vcpu vcpu, KvmPageFault fault)
    {
        var self = Self;
        yield return Call(VcpuCacheMmioInfo(vcpu, fault.Gfn));
        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        yield return Call(MapLeafSpte(vcpu, fault));
        ulong sptep = self.Ret;
        if (sptep == 0)
        {
            yield return null;
            WriteUnlockMmu();
            self.Ret = RetPfEfault;                        // -ENOSPC
            yield break;
        }
        bool flush = false;
        yield return null;
        if (Spte.IsShadowPresent(_mem.Read(sptep)))
        {
            yield return Call(DropSpte(sptep));
            flush = true;
        }
        yield return null;
        ulong gen = MemslotsGenerationOf(0);              // make_mmio_spte(): kvm_vcpu_memslots(vcpu)->generation
        if ((gen & KvmMemslotGenUpdateInProgress) == 0)
        {
            yield return null;
            ulong spte = MmioSpte.Make(fault.Gfn, gen);
            MmuSpteSet(sptep, spte);
            _check.OnMmioSpteSet(sptep, gen);
            _m.Event(MmuEvent.MmioSpteCreated, fault.Gfn);
            if (Tracing) _m.Log($"mark_mmio_spte gfn 0x{fault.Gfn:x} alias {fault.Alias}: {MmioSpte.Describe(spte)}");
        }
        if (flush) yield return Call(KvmFlushRemoteTlbs());
        yield return null;
        WriteUnlockMmu();
        self.Ret = RetPfEmulate;
    }

    /// <summary>
    /// vcpu_cache_mmio_info(): remember the gfn with kvm_memslots(kvm)->generation, unless a memslot
    /// update is in progress (the new memslots may already map the gfn).
    /// </summary>
    private Co VcpuCacheMmioInfo(Vcpu vcpu, ulong gfn)
    {
        yield return null;
        ulong gen = MemslotsGenerationOf(0);
        if ((gen & KvmMemslotGenUpdateInProgress) != 0 && !_bugs.Has(Bugs.MmioInFlux)) yield break;
        vcpu.MmioGfn = gfn;
        vcpu.MmioGen = gen;
        if (Tracing) _m.Log($"vcpu_cache_mmio_info gfn 0x{gfn:x} generation 0x{gen:x}");
    }

    /// <summary>
    /// kvm_mmu_page_fault() with PFERR_RSVD_MASK (an EPT misconfiguration on an MMIO SPTE):
    /// handle_mmio_page_fault() under SRCU, and on RET_PF_INVALID the ordinary fault path.
    /// </summary>
    internal Co KvmMmuPageFaultRsvd(Vcpu vcpu, int alias, ulong gfn, bool write)
    {
        var self = Self;
        yield return null;
        int idx = SrcuReadLock();
        yield return Call(HandleMmioPageFault(vcpu, alias, gfn));
        ulong r = self.Ret;
        yield return null;
        SrcuReadUnlock(idx);
        if (Tracing) _m.Log($"MMIO page fault gfn 0x{gfn:x} alias {alias} -> {(r == RetPfEmulate ? "emulate" : r == RetPfInvalid ? "invalid" : "retry")}");
        if (r == RetPfInvalid)
        {
            yield return Call(KvmMmuPageFault(vcpu, alias, gfn, write, present: false));
            r = self.Ret;
        }
        self.Ret = r;
    }

    /// <summary>
    /// handle_mmio_page_fault() on the direct map: the vCPU's cached MMIO info if it matches
    /// (mmio_info_in_cache → vcpu_match_mmio_gpa → vcpu_match_mmio_gen), else the SPTE from a
    /// lockless walk (get_mmio_spte); an MMIO SPTE of an old generation, or any while an update is in
    /// progress, fails check_mmio_spte() and the fault is retried as RET_PF_INVALID. Ret =
    /// RET_PF_EMULATE, RET_PF_INVALID, or RET_PF_RETRY when the SPTE is no longer an MMIO SPTE.
    /// </summary>
    private Co HandleMmioPageFault(Vcpu vcpu, int alias, ulong gfn)
    {
        var self = Self;
        yield return null;
        ulong gen = MemslotsGenerationOf(0);
        if (vcpu.MmioGen == gen && vcpu.MmioGfn != 0 && vcpu.MmioGfn == gfn)
        {
            _check.OnMmioInfoUsed(vcpu, gfn, gen);
            _m.Event(MmuEvent.MmioInfoCacheHit, gfn);
            self.Ret = RetPfEmulate;
            yield break;
        }
        yield return null;
        WalkShadowPageLocklessBegin(vcpu);
        yield return null;
        ulong sptep = WalkToLeafSptep(vcpu, alias, gfn);
        ulong spte = sptep == 0 ? 0 : _mem.Read(sptep);
        yield return null;
        WalkShadowPageLocklessEnd(vcpu);
        if (!MmioSpte.IsMmio(spte)) { self.Ret = RetPfRetry; yield break; }

        yield return null;                                 // check_mmio_spte()
        gen = MemslotsGenerationOf(0);
        if ((gen & KvmMemslotGenUpdateInProgress) != 0 || (gen & MmioSpte.GenMask) != MmioSpte.Generation(spte))
        {
            _m.Event(MmuEvent.MmioSpteStale, gfn);
            if (Tracing) _m.Log($"check_mmio_spte: {MmioSpte.Describe(spte)} against generation 0x{gen:x}: stale");
            self.Ret = RetPfInvalid;
            yield break;
        }
        _check.OnMmioSpteUsed(vcpu, sptep, MmioSpte.Gfn(spte), gen);
        yield return Call(VcpuCacheMmioInfo(vcpu, gfn));
        self.Ret = RetPfEmulate;
    }

    /// <summary>
    /// kvm_mmu_invalidate_mmio_sptes(), from kvm_arch_memslots_updated() while the in-progress bit is
    /// still set: strip the address-space modifier so a wrap in any address space is seen, and zap
    /// everything when the bits an MMIO SPTE keeps have wrapped to 0.
    /// </summary>
    private Co KvmMmuInvalidateMmioSptes(ulong gen)
    {
        gen &= MmioSpte.GenMask;
        gen &= ~((ulong)NrMemslotAsIds - 1);
        if (gen != 0) yield break;
        _m.Event(MmuEvent.MmioGenerationWrap);
        if (Tracing) _m.Log("MMIO generation wrapped: zap all");
        yield return Call(KvmMmuZapAllFast());
    }

    /// <summary>mmu_spte_clear_no_track(): clears an SPTE that is not in any rmap (an MMIO SPTE).</summary>
    private void MmuSpteClearNoTrack(ulong sptep)
    {
        ulong old = _mem.Exchange(sptep, 0);
        _check.OnSpteWrite(sptep, old, 0, SpteWriter.Zap);
    }
}
