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
    /// Reclaim of one leaf shadow page, found through the gfn hash as kvm_mmu_unprotect_gfn_and_retry()
    /// finds the pages of a gfn: kvm_mmu_prepare_zap_page(), then kvm_mmu_commit_zap_page(), which
    /// flushes before the page is freed and mmu_lock released.
    /// </summary>
    internal Co ZapShadowPage(int alias, int slotId)
    {
        var invalidList = new List<ulong>();
        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        ulong sp = KvmMmuFindShadowPage(SlotBaseGfn(slotId), SpRole.Make(1, alias));
        if (sp != 0)
        {
            yield return Call(KvmMmuPrepareZapPage(sp, invalidList));
            yield return Call(KvmMmuCommitZapPage(invalidList));
        }
        yield return null;
        WriteUnlockMmu();
    }
}
