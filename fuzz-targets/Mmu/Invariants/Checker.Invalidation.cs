namespace Fuzz.Targets.Mmu;

/// <summary>
/// The invalidation protocol: the counters and the range stay balanced and cover what is added
/// (invariant 9), a fault never installs what an invalidation or the host has taken away
/// (invariant 10), and once invalidate_range_start returns, and at every guest access, no SPTE or
/// TLB entry maps what the host no longer maps (invariant 11).
/// </summary>
internal sealed partial class Checker
{
    public void OnFaultSnapshot(KvmPageFault fault)
    {
        if (Mem.Peek(_kvm.InProgressAddr) != 0) _kvm.Machine.Event(MmuEvent.FaultSnapshotInInvalidation, fault.Gfn);
    }

    public void OnFaultInstall(KvmPageFault fault, ulong sptep, ulong spte)
    {
        ulong seq = Mem.Peek(_kvm.SeqAddr);
        if (seq != fault.MmuSeq)
            throw Fail(Invariant.NoStaleInstall, "mmu_set_spte", $"fault on gfn 0x{fault.Gfn:x} installs with seq snapshot {fault.MmuSeq}, but mmu_invalidate_seq is {seq}");
        if (Mem.Peek(_kvm.InProgressAddr) != 0 && fault.Gfn >= Mem.Peek(_kvm.RangeStartAddr) && fault.Gfn < Mem.Peek(_kvm.RangeEndAddr))
            throw Fail(Invariant.NoStaleInstall, "mmu_set_spte", $"fault installs gfn 0x{fault.Gfn:x} inside the active invalidation range");
        ulong pte = Mem.Peek(_kvm.HostPteAddr(Kvm.HvaBase + fault.Gfn));
        if ((pte & HostPte.Present) == 0 || HostPte.Pfn(pte) != Spte.ToPfn(spte) || (Spte.IsWritable(spte) && (pte & HostPte.Writable) == 0))
            throw Fail(Invariant.NoStaleInstall, "mmu_set_spte",
                $"fault installs {Spte.Describe(spte)} for gfn 0x{fault.Gfn:x}, but the host maps {DescribeHostPte(pte)}");
    }

    public void OnInvalidateRangeAdded(ulong start, ulong end)
    {
        if (Mem.Peek(_kvm.RangeStartAddr) > start || Mem.Peek(_kvm.RangeEndAddr) < end)
            throw Fail(Invariant.InvalidationCounters, "kvm_mmu_invalidate_range_add", $"active range does not cover added [0x{start:x}, 0x{end:x})");
    }

    /// <summary>When invalidate_range_start returns, nothing maps the invalidated range: no SPTE, no TLB entry.</summary>
    public void OnInvalidateRangeStartReturned(ulong hvaStart, ulong hvaEnd)
    {
        foreach (ulong sptep in _installed)
        {
            if (!Mem.IsLive(sptep)) continue;
            ulong spte = Mem.Peek(sptep);
            if (!Spte.IsShadowPresent(spte)) continue;
            ulong hva = Kvm.HvaBase + _kvm.SpteInfo(sptep).Gfn;
            if (hva >= hvaStart && hva < hvaEnd)
                throw Fail(Invariant.InvalidationCompleteness, "kvm_mmu_notifier_invalidate_range_start",
                    $"SPTE 0x{sptep:x} still maps hva 0x{hva:x} after invalidate_range_start: {Spte.Describe(spte)}");
        }
        foreach (var v in _kvm.Vcpus)
            for (int i = 0; i < v.Tlb.Count; i++)
            {
                ulong hva = Kvm.HvaBase + v.Tlb[i].Gfn;
                if (hva >= hvaStart && hva < hvaEnd)
                    throw Fail(Invariant.InvalidationCompleteness, "kvm_mmu_notifier_invalidate_range_start",
                        $"vCPU {v.Id} TLB still maps hva 0x{hva:x} (gfn 0x{v.Tlb[i].Gfn:x}) after invalidate_range_start");
            }
    }

    public void OnGuestAccess(Vcpu vcpu, ulong gfn, ulong pfn, bool write, string via)
    {
        ulong pte = Mem.Peek(_kvm.HostPteAddr(Kvm.HvaBase + gfn));
        if ((pte & HostPte.Present) == 0 || HostPte.Pfn(pte) != pfn || (write && (pte & HostPte.Writable) == 0))
            throw Fail(Invariant.InvalidationCompleteness, "guest access",
                $"vCPU {vcpu.Id} {(write ? "wrote" : "read")} gfn 0x{gfn:x} via {via} to pfn {pfn}, but the host maps {DescribeHostPte(pte)}: stale translation");
        if (write) OnGuestWrite(vcpu, gfn, pfn, via);
    }

    private void CheckInvalidationBalanced()
    {
        if (Mem.Peek(_kvm.InProgressAddr) != 0 || Mem.Peek(_kvm.MnActiveAddr) != 0)
            throw Fail(Invariant.InvalidationCounters, "quiescent", "invalidation counters unbalanced with no invalidation running");
    }
}
