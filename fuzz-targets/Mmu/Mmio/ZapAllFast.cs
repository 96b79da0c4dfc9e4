namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>
    /// kvm_mmu_zap_all_fast(), reduced to what the MMIO generation wrap needs: under mmu_lock, every
    /// shadow page's SPTEs are zapped (drop_spte for shadow-present ones, mmu_spte_clear_no_track for
    /// MMIO ones, as mmu_page_zap_pte does), then one remote TLB flush before mmu_lock is released.
    /// </summary>
    internal Co KvmMmuZapAllFast()
    {
        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        bool flush = false;
        for (int key = 0; key < _sp.Length; key++)
        {
            ulong sp = _sp[key];
            if (sp == 0) continue;
            for (int i = 0; i < SlotPages; i++)
            {
                ulong sptep = sp + (ulong)(ShadowPage.Sptes + i) * 8;
                yield return null;
                ulong spte = _mem.Read(sptep);
                if (Spte.IsShadowPresent(spte))
                {
                    yield return Call(DropSpte(sptep));
                    flush = true;
                }
                else if (MmioSpte.IsMmio(spte)) MmuSpteClearNoTrack(sptep);
            }
        }
        if (flush) yield return Call(KvmFlushRemoteTlbs());
        yield return null;
        WriteUnlockMmu();
    }
}
