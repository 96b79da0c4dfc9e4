namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>
    /// A guest load or store by a vCPU: through its TLB, else a hardware walk of the SPTE (setting
    /// A/D atomically and filling the TLB), else an EPT violation handled by the page fault path
    /// (an EPT misconfiguration on an MMIO SPTE: the PFERR_RSVD_MASK path) and one retry.
    /// </summary>
    internal Co GuestAccess(int vcpu, int alias, ulong gfn, bool write)
    {
        var self = Self;
        for (int attempt = 0; attempt < 2; attempt++)
        {
            yield return null;
            if (TryHardwareAccess(Vcpus[vcpu], alias, gfn, write, out bool present, out bool misconfig)) yield break;
            if (attempt == 1) break;
            yield return Call(misconfig ? KvmMmuPageFaultRsvd(Vcpus[vcpu], alias, gfn, write) : KvmMmuPageFault(Vcpus[vcpu], alias, gfn, write, present));
            if (self.Ret is not (RetPfFixed or RetPfSpurious) && !(misconfig && self.Ret == RetPfRetry)) yield break;
        }
    }

    /// <summary>
    /// An EPT violation taken on (alias, gfn) as the page_fault operations model it: one step in which
    /// the hardware reads the SPTE for the error code's present bit, then kvm_mmu_page_fault().
    /// </summary>
    internal Co VcpuPageFault(Vcpu vcpu, int alias, ulong gfn, bool write)
    {
        yield return null;
        ulong sptep = WalkToLeafSptep(vcpu, alias, gfn);
        bool present = sptep != 0 && EptPresent(_mem.Read(sptep));
        yield return Call(KvmMmuPageFault(vcpu, alias, gfn, write, present));
    }

    /// <summary>What EPT calls present: any of R, W, X (an access-tracked SPTE has none).</summary>
    private static bool EptPresent(ulong spte) => Spte.IsShadowPresent(spte) && (spte & Spte.RwxMask) != 0;

    /// <summary>One step: the TLB lookup, or the page walk with its A/D update and TLB fill, is atomic to the other actors.</summary>
    private bool TryHardwareAccess(Vcpu vcpu, int alias, ulong gfn, bool write, out bool present, out bool misconfig)
    {
        present = misconfig = false;
        int i = vcpu.Tlb.Find(alias, gfn);
        if (i >= 0)
        {
            ref var e = ref vcpu.Tlb[i];
            if (!write || (e.Writable && e.Dirty))
            {
                _check.OnGuestAccess(vcpu, gfn, e.Pfn, write, "TLB");
                return true;
            }
        }
        ulong sptep = WalkToLeafSptep(vcpu, alias, gfn);
        if (sptep == 0) return false;
        ulong spte = _mem.Read(sptep);
        present = EptPresent(spte);
        misconfig = MmioSpte.IsMmio(spte);
        if (!Spte.IsShadowPresent(spte) || (spte & Spte.Readable) == 0) return false;
        if (write && !Spte.IsWritable(spte)) return false;
        if (Spte.AdEnabled(spte))
        {
            ulong set = Spte.Accessed | (write ? Spte.Dirty : 0);
            if ((spte & set) != set)
            {
                _mem.FetchOr(sptep, set);
                _check.OnSpteWrite(sptep, spte, spte | set, SpteWriter.Hardware);
                spte |= set;
            }
        }
        vcpu.Tlb.Fill(new TlbEntry
        {
            Alias = alias, Gfn = gfn, Pfn = Spte.ToPfn(spte),
            Writable = Spte.IsWritable(spte), Dirty = Spte.AdEnabled(spte) ? (spte & Spte.Dirty) != 0 : Spte.IsWritable(spte),
        });
        _check.OnGuestAccess(vcpu, gfn, Spte.ToPfn(spte), write, "page walk");
        return true;
    }
}
