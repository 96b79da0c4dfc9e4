namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>kvm_unmap_gfn_range() → __kvm_rmap_zap_gfn_range(): zap every rmap of [start, end), yielding if may_block.</summary>
    internal Co KvmUnmapGfnRange(ulong slot, ulong start, ulong end, bool mayBlock)
    {
        _check.BeginMayBlockZap(mayBlock);
        yield return Call(WalkSlotRmaps(slot, _zapAllRmapSptes, start, end - 1, mayBlock, flushOnYield: true, flush: false));
        _check.EndMayBlockZap();
    }

    /// <summary>
    /// Reclaim of one leaf shadow page (kvm_mmu_prepare_zap_page → mmu_page_zap_pte → drop_spte, or clearing an MMIO SPTE,
    /// then kvm_mmu_commit_zap_page, which flushes before mmu_lock is released).
    /// </summary>
    internal Co ZapShadowPage(int alias, int slotId)
    {
        ulong sptep0 = SpteAddr(alias, SlotBaseGfn(slotId), create: false);
        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        bool zapped = false;
        if (sptep0 != 0)
        {
            for (int i = 0; i < SlotPages; i++)
            {
                ulong sptep = sptep0 + (ulong)i * 8;
                yield return null;
                ulong spte = _mem.Read(sptep);
                if (MmioSpte.IsMmio(spte)) MmuSpteClearNoTrack(sptep);
                if (!Spte.IsShadowPresent(spte)) continue;
                yield return Call(DropSpte(sptep));
                zapped = true;
            }
        }
        if (zapped) yield return Call(KvmFlushRemoteTlbs());
        yield return null;
        WriteUnlockMmu();
    }
}
