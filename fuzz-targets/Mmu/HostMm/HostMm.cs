namespace Fuzz.Targets.Mmu;

/// <summary>The primary MMU: host page table changes bracketed by mmu_notifier invalidations, as mm/ does them.</summary>
public sealed partial class Kvm
{
    internal static (ulong Start, ulong End) HvaRange(int slot, int gfnOffset, int npages)
    {
        ulong start = HvaBase + GfnOf(slot, gfnOffset);
        ulong end = HvaBase + GfnOf(slot, Math.Min(SlotPages, gfnOffset + npages));
        return (start, end);
    }

    /// <summary>mprotect(PROT_READ) (<paramref name="readOnly"/>) or back to PROT_READ|PROT_WRITE: change_protection() inside the invalidate bracket.</summary>
    internal Co Mprotect(ulong hvaStart, ulong hvaEnd, bool readOnly)
    {
        yield return Call(InvalidateRangeStart(hvaStart, hvaEnd));
        for (ulong hva = hvaStart; hva < hvaEnd; hva++)
        {
            ulong ptep = HostPteAddr(hva);
            yield return null;
            ulong pte = _mem.Read(ptep);
            ulong newPte = readOnly
                ? pte & ~(HostPte.Writable | HostPte.VmWrite)
                : pte | HostPte.VmWrite | ((pte & HostPte.Present) != 0 ? HostPte.Writable : 0);
            _mem.Write(ptep, newPte);
        }
        if (Tracing) _m.Log($"mprotect({(readOnly ? "PROT_READ" : "PROT_READ|PROT_WRITE")}) hva [0x{hvaStart:x}, 0x{hvaEnd:x})");
        yield return Call(InvalidateRangeEnd(hvaStart, hvaEnd));
    }

    /// <summary>madvise(MADV_DONTNEED): zap_page_range() inside the invalidate bracket; the pages are freed.</summary>
    internal Co MadviseDontneed(ulong hvaStart, ulong hvaEnd)
    {
        yield return Call(InvalidateRangeStart(hvaStart, hvaEnd));
        for (ulong hva = hvaStart; hva < hvaEnd; hva++)
        {
            ulong ptep = HostPteAddr(hva);
            yield return null;
            ulong pte = _mem.Read(ptep);
            _mem.Write(ptep, pte & HostPte.VmWrite);
            if ((pte & HostPte.Present) != 0) Pfns[(int)HostPte.Pfn(pte)] |= PfnState.Freed;
        }
        if (Tracing) _m.Log($"madvise(MADV_DONTNEED) hva [0x{hvaStart:x}, 0x{hvaEnd:x})");
        yield return Call(InvalidateRangeEnd(hvaStart, hvaEnd));
    }

    /// <summary>
    /// replace_page() (mm/ksm.c): the page behind <paramref name="hva"/> is merged into a KSM page,
    /// mapped write-protected. The change-pte variant delivers the new PTE through .change_pte
    /// (set_pte_at_notify()) instead of the invalidate bracket.
    /// </summary>
    internal Co ReplacePage(ulong hva) => ReplaceHostPage(hva, writable: false, changePte: _bugs.Has(Bugs.ChangePte));

    /// <summary>do_wp_page() → wp_page_copy(): a write to a write-protected page of a writable VMA (a KSM page) copies it to a new writable page.</summary>
    internal Co WpPageCopy(ulong hva) => ReplaceHostPage(hva, writable: true, changePte: false);

    /// <summary>The present host PTE of <paramref name="hva"/> moves to a new page under the PTL (pte_same() first); the old page is freed.</summary>
    private Co ReplaceHostPage(ulong hva, bool writable, bool changePte)
    {
        ulong ptep = HostPteAddr(hva);
        yield return null;
        ulong orig = _mem.Read(ptep);
        if ((orig & HostPte.Present) == 0) yield break;
        ulong pfn = AllocPfn();
        ulong newPte = (pfn << 12) | HostPte.Present | (orig & HostPte.VmWrite) | (writable ? HostPte.Writable : 0);
        if (changePte) yield return Call(KvmHandleHvaRange(hva, hva + 1, HvaHandler.ChangePte, newPte));
        else yield return Call(InvalidateRangeStart(hva, hva + 1));
        yield return null;
        bool same = _mem.CompareExchange(ptep, orig, newPte) == orig;
        Pfns[(int)(same ? HostPte.Pfn(orig) : pfn)] |= PfnState.Freed;
        if (Tracing) _m.Log(same ? $"hva 0x{hva:x}: pfn {HostPte.Pfn(orig)} replaced by pfn {pfn}{(writable ? "" : " (write-protected)")}" : $"hva 0x{hva:x}: PTE changed meanwhile, not replaced");
        if (!changePte) yield return Call(InvalidateRangeEnd(hva, hva + 1));
    }

    /// <summary>mmu_notifier clear_young / test_young (kvm_age_gfn / kvm_test_age_gfn). Ret = young.</summary>
    internal Co Age(ulong hvaStart, ulong hvaEnd, bool testOnly)
    {
        var self = Self;
        yield return Call(KvmHandleHvaRange(hvaStart, hvaEnd, testOnly ? HvaHandler.TestYoung : HvaHandler.ClearYoung));
        if (Tracing) _m.Log($"{(testOnly ? "test_young" : "clear_young")} hva [0x{hvaStart:x}, 0x{hvaEnd:x}) -> {(self.Ret != 0 ? "young" : "old")}");
    }
}
