namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>
    /// kvm_rmap_age_gfn_range(): never under mmu_lock. Each rmap is locked read-only, SPTEs that a
    /// concurrent zap cleared are skipped; an A/D-enabled SPTE loses Accessed (clear_bit), an
    /// A/D-disabled one is access-tracked with cmpxchg64, which leaves it young if the SPTE changed
    /// since it was read. Ret = young.
    /// </summary>
    private Co KvmRmapAgeGfnRange(ulong slot, ulong start, ulong end, bool testOnly)
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
            yield return null;
            if (Spte.AdEnabled(spte)) ClearSpteAccessed(sptep);
            else MarkSpteForAccessTrackLockless(sptep, spte);
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
                else if (_bugs.Has(Bugs.LockedWalkerLockless)) yield return Call(ForEachRmapSpte(head, age, "kvm_rmap_age_gfn_range"));
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

    /// <summary>cmpxchg64(sptep, spte, mark_spte_for_access_track(spte)): if it fails, the SPTE is being modified and most likely stays young.</summary>
    private void MarkSpteForAccessTrackLockless(ulong sptep, ulong spte)
    {
        ulong tracked = Spte.MarkForAccessTrack(spte);
        if (_mem.CompareExchange(sptep, spte, tracked) == spte) _check.OnSpteWrite(sptep, spte, tracked, SpteWriter.Age);
        else _m.Event(MmuEvent.AgingCmpxchgFailed, SpteInfo(sptep).Gfn);
    }

    /// <summary>Clears the Accessed bit atomically (clear_bit()), safe without mmu_lock.</summary>
    private void ClearSpteAccessed(ulong sptep)
    {
        ulong old = _mem.FetchAnd(sptep, ~Spte.Accessed);
        _check.OnSpteWrite(sptep, old, old & ~Spte.Accessed, SpteWriter.Age);
    }
}
