namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>kvm_rmap_age_gfn_range(): lockless when A/D bits are enabled (the caller did not take mmu_lock), locked otherwise. Ret = young.</summary>
    private Co KvmRmapAgeGfnRange(ulong slot, ulong start, ulong end, bool testOnly) =>
        AdEnabled ? KvmRmapAgeGfnRangeLockless(slot, start, end, testOnly) : KvmRmapAgeGfnRangeLocked(slot, start, end, testOnly);

    /// <summary>__kvm_rmap_age_gfn_range(): mmu_lock held for write; access-tracks SPTEs without A/D bits.</summary>
    private Co KvmRmapAgeGfnRangeLocked(ulong slot, ulong start, ulong end, bool testOnly)
    {
        var self = Self;
        bool young = false;
        for (int level = 1; level <= Levels && !(testOnly && young); level++)
        {
            ulong first = GfnToRmap(slot, start, level), last = GfnToRmap(slot, end - 1, level);
            for (ulong head = first; head <= last && !(testOnly && young); head += 8)
            {
                var iter = default(RmapIterator);
                yield return null;
                for (ulong sptep = RmapGetFirst(head, ref iter); sptep != 0;)   // for_each_rmap_spte()
                {
                    yield return null;
                    ulong spte = ReadRmapSpte(head, sptep, "kvm_rmap_age_gfn_range");
                    if (Spte.IsAccessed(spte))
                    {
                        young = true;
                        if (testOnly) break;
                        yield return null;
                        if (Spte.AdEnabled(spte)) ClearSpteAccessed(sptep);
                        else
                        {
                            // Capture the dirty status of the page, so that it doesn't get lost when the SPTE is marked for access tracking.
                            if (Spte.IsWritable(spte)) SetPfnDirty(Spte.ToPfn(spte));
                            ulong old = _mem.Exchange(sptep, Spte.MarkForAccessTrack(spte));   // mmu_spte_update_no_track()
                            _check.OnSpteWrite(sptep, old, Spte.MarkForAccessTrack(spte), SpteWriter.Age);
                        }
                    }
                    yield return null;
                    sptep = RmapGetNext(ref iter);
                }
            }
        }
        self.Ret = young ? 1UL : 0;
    }

    /// <summary>
    /// kvm_rmap_age_gfn_range_lockless(): no mmu_lock; each rmap is locked read-only, SPTEs that a
    /// concurrent zap cleared are skipped, and only the Accessed bit is cleared (atomically).
    /// </summary>
    private Co KvmRmapAgeGfnRangeLockless(ulong slot, ulong start, ulong end, bool testOnly)
    {
        var self = Self;
        bool young = false, leaked = false;
        ulong head = 0, rmapVal = 0;
        Co Age(ulong sptep, ulong spte)
        {
            if (!Spte.IsAccessed(spte)) { self.Ret = 0; yield break; }
            if (testOnly)
            {
                young = true;
                if (_bugs.Has(Bugs.TestAgeLeak)) leaked = true;
                else yield return Call(KvmRmapUnlockReadonly(head, rmapVal));
                self.Ret = 1;
                yield break;
            }
            // Marking SPTEs for access tracking outside of mmu_lock is unsupported: report young, leave it as-is.
            if (Spte.AdEnabled(spte))
            {
                yield return null;
                ClearSpteAccessed(sptep);
            }
            young = true;
            self.Ret = 0;
        }
        Func<ulong, ulong, Co> age = Age;
        for (int level = 1; level <= Levels; level++)
        {
            int step = 1 << ((level - 1) * 9);
            for (ulong gfn = start; gfn < end; gfn += (ulong)step)
            {
                head = GfnToRmap(slot, gfn, level);
                var lk = new RmapLock(head, readOnly: true);
                yield return null;
                while (!KvmRmapLockStep(ref lk)) yield return null;
                rmapVal = lk.Value;
                // The lock was elided because the rmap was empty: there is nothing this walker may
                // walk. Re-reading the head could find entries it holds no lock over.
                if (rmapVal == 0 && !_bugs.Has(Bugs.LocklessRereadEmpty)) { }
                else if (_bugs.Has(Bugs.LockedWalkerLockless)) yield return Call(ForEachRmapSpte(head, age, "kvm_rmap_age_gfn_range_lockless"));
                else yield return Call(ForEachRmapSpteLockless(head, age));
                if (testOnly && young)
                {
                    if (leaked) if (Tracing) _m.Log($"test_young returns young with rmap 0x{head:x} still locked");
                    self.Ret = 1;
                    yield break;
                }
                yield return Call(KvmRmapUnlockReadonly(head, rmapVal));
            }
        }
        self.Ret = young ? 1UL : 0;
    }

    /// <summary>Clears the Accessed bit atomically (clear_bit()), safe without mmu_lock.</summary>
    private void ClearSpteAccessed(ulong sptep)
    {
        ulong old = _mem.FetchAnd(sptep, ~Spte.Accessed);
        _check.OnSpteWrite(sptep, old, old & ~Spte.Accessed, SpteWriter.Age);
    }
}
