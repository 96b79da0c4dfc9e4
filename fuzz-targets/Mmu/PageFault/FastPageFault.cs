namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    private const int FastPfMaxRetries = 4;

    /// <summary>
    /// page_fault_can_be_fast(): a non-present fault can be an access-tracked SPTE only when KVM
    /// runs without A/D bits; a present one must be a write (write protection).
    /// </summary>
    private bool PageFaultCanBeFast(KvmPageFault fault) => fault.Present ? fault.Write : !AdEnabled;

    /// <summary>is_access_allowed(): would the faulting access succeed on <paramref name="spte"/> now?</summary>
    private static bool IsAccessAllowed(KvmPageFault fault, ulong spte) =>
        fault.Write ? Spte.IsWritable(spte) : (spte & Spte.Readable) != 0;

    /// <summary>
    /// fast_page_fault(): without mmu_lock, inside walk_shadow_page_lockless_begin/end (IRQs off, so
    /// a remote TLB flush, and the free behind it, waits for this vCPU). Restores an access-tracked
    /// SPTE and, for a write, W on an MMU-writable SPTE, with try_cmpxchg64; a lost race retries a
    /// few times. After a successful W restore, mark_page_dirty_in_slot(). Ret = RET_PF_FIXED,
    /// RET_PF_SPURIOUS, or RET_PF_INVALID for the slow path.
    /// </summary>
    private Co FastPageFault(Vcpu vcpu, KvmPageFault fault)
    {
        var self = Self;
        if (!PageFaultCanBeFast(fault)) { self.Ret = RetPfInvalid; yield break; }
        ulong ret = RetPfInvalid;
        yield return null;
        WalkShadowPageLocklessBegin(vcpu);
        for (int retry = 0; ;)
        {
            yield return null;
            ulong sptep = WalkToLeafSptep(vcpu, fault.Alias, fault.Gfn);    // fast_pf_get_last_sptep()
            ulong spte = sptep == 0 ? 0 : _mem.Read(sptep);
            if (!Spte.IsShadowPresent(spte)) break;
            if (IsAccessAllowed(fault, spte)) { ret = RetPfSpurious; break; }
            ulong newSpte = spte;
            if (!AdEnabled && Spte.IsAccessTrack(spte)) newSpte = Spte.RestoreAccessTrack(newSpte) | Spte.Accessed;
            if (fault.Write && Spte.IsMmuWritable(spte)) newSpte |= Spte.Writable;
            if (newSpte == spte || !IsAccessAllowed(fault, newSpte)) break;
            // fast_pf_fix_direct_spte()
            bool makesWritable = Spte.IsWritable(newSpte) && !Spte.IsWritable(spte);
            if (makesWritable && _bugs.Has(Bugs.FastPfDirtyBeforeCmpxchg)) yield return Call(MarkPageDirtyInSlot(fault.Slot, fault.Gfn));
            yield return null;
            ulong seen = _mem.CompareExchange(sptep, spte, newSpte);
            if (seen == spte)
            {
                _check.OnSpteWrite(sptep, spte, newSpte, SpteWriter.FastPageFault);
                if (makesWritable) _check.OnFastPfMadeWritable(vcpu, fault.Gfn);
                _m.Event(MmuEvent.FastPageFaultFixed, fault.Gfn);
                if (Tracing) _m.Log($"fast_page_fault fixed gfn 0x{fault.Gfn:x}: {Spte.Describe(spte)} -> {Spte.Describe(newSpte)}");
                if (makesWritable && !_bugs.Has(Bugs.FastPfDirtyBeforeCmpxchg)) yield return Call(MarkPageDirtyInSlot(fault.Slot, fault.Gfn));
                ret = RetPfFixed;
                break;
            }
            _m.Event(MmuEvent.FastPageFaultRace, fault.Gfn);
            if (++retry > FastPfMaxRetries) break;
        }
        yield return null;
        WalkShadowPageLocklessEnd(vcpu);
        self.Ret = ret;
    }

    /// <summary>walk_shadow_page_lockless_begin(): local_irq_disable(), then vcpu->mode = READING_SHADOW_PAGE_TABLES (smp_store_mb).</summary>
    private void WalkShadowPageLocklessBegin(Vcpu vcpu) => _mem.Write(VcpuModeAddr(vcpu.Id), VcpuModeReadingShadowPageTables);

    /// <summary>walk_shadow_page_lockless_end(): vcpu->mode = OUTSIDE_GUEST_MODE (smp_store_release), then local_irq_enable().</summary>
    private void WalkShadowPageLocklessEnd(Vcpu vcpu)
    {
        _mem.Write(VcpuModeAddr(vcpu.Id), VcpuModeOutsideGuest);
        _check.OnLocklessWalkEnd(vcpu);
    }
}
