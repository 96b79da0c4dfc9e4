namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>
    /// kvm_set_spte_gfn() → kvm_set_pte_rmap(), the .change_pte handler removed in 6.9: with
    /// mmu_lock held, every SPTE of the gfns is pointed at <paramref name="newPfn"/> in place of
    /// being zapped. Only the read-only branch: the PTE replace_page() delivers is never writable.
    /// Ret = flush needed.
    /// </summary>
    private Co KvmSetSpteGfn(ulong slot, ulong start, ulong end, ulong newPfn)
    {
        var self = Self;
        bool flush = false;
        for (int level = 1; level <= Levels; level++)
        {
            ulong first = GfnToRmap(slot, start, level), last = GfnToRmap(slot, end - 1, level);
            for (ulong head = first; head <= last; head += 8)
            {
                var iter = default(RmapIterator);
                yield return null;
                for (ulong sptep = RmapGetFirst(head, ref iter); sptep != 0;)   // for_each_rmap_spte()
                {
                    yield return null;
                    ulong spte = ReadRmapSpte(head, sptep, "kvm_set_pte_rmap");
                    flush = true;
                    yield return null;
                    MmuSpteClearTrackBits(sptep);
                    yield return null;
                    MmuSpteSet(sptep, ChangedPteNotifierMakeSpte(spte, newPfn));
                    yield return null;
                    sptep = RmapGetNext(ref iter);
                }
            }
        }
        self.Ret = flush ? 1UL : 0;
    }

    /// <summary>kvm_mmu_changed_pte_notifier_make_spte(): the new pfn, not writable, marked for access tracking.</summary>
    private static ulong ChangedPteNotifierMakeSpte(ulong oldSpte, ulong newPfn)
    {
        ulong spte = (oldSpte & ~Spte.PfnMask) | (newPfn << Spte.PfnShift);
        spte &= ~(Spte.Writable | Spte.HostWritable | Spte.MmuWritable);
        return Spte.MarkForAccessTrack(spte);
    }
}
