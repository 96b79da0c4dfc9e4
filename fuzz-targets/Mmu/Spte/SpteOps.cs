namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>mmu_spte_set(): installs a new SPTE over a non-present one. One step after the caller's point.</summary>
    private void MmuSpteSet(ulong sptep, ulong newSpte)
    {
        ulong old = _mem.Exchange(sptep, newSpte);
        _check.OnSpteWrite(sptep, old, newSpte, SpteWriter.Install);
    }

    /// <summary>
    /// mmu_spte_update(): same pfn, new bits; an exchange where a lockless writer may race
    /// (spte_needs_atomic_update()), a plain store otherwise. Returns whether a remote TLB flush is
    /// needed before mmu_lock is released: only when MMU-writable went 1→0. Accessed and Dirty
    /// changes need none (aging tolerates stale TLB entries; dirty logging flushes on its own).
    /// </summary>
    private bool MmuSpteUpdate(ulong sptep, ulong newSpte)
    {
        ulong old = _mem.Read(sptep);
        if (!Spte.IsShadowPresent(old))
        {
            MmuSpteSet(sptep, newSpte);
            return false;
        }
        if (Spte.NeedsAtomicUpdate(old)) old = _mem.Exchange(sptep, newSpte);
        else _mem.Write(sptep, newSpte);
        _check.OnSpteWrite(sptep, old, newSpte, SpteWriter.Update);
        return Spte.LeafChangeNeedsTlbFlush(old, newSpte);
    }

    /// <summary>
    /// mmu_spte_clear_track_bits(): zaps the SPTE, atomically where a lockless writer may race.
    /// Since 6.13 nothing is passed to the folio here: it was marked dirty when the fault that
    /// made the SPTE writable finished. Returns the old SPTE.
    /// </summary>
    internal ulong MmuSpteClearTrackBits(ulong sptep)
    {
        ulong old = _mem.Read(sptep);
        if (Spte.IsShadowPresent(old) && Spte.NeedsAtomicUpdate(old)) old = _mem.Exchange(sptep, 0);
        else _mem.Write(sptep, 0);
        _check.OnSpteWrite(sptep, old, 0, SpteWriter.Zap);
        return old;
    }

    /// <summary>drop_spte(): clear the SPTE first, then take it out of its rmap.</summary>
    internal Co DropSpte(ulong sptep)
    {
        yield return null;
        ulong old = MmuSpteClearTrackBits(sptep);
        if (Spte.IsShadowPresent(old)) yield return Call(RmapRemove(sptep));
    }

    /// <summary>rmap_remove(): find the rmap from the shadow page's gfn and role, then pte_list_remove().</summary>
    private Co RmapRemove(ulong sptep)
    {
        var (_, gfn, level, _) = SpteInfo(sptep);
        yield return null;
        ulong slot = GfnToMemslot(CurrentMemslots, gfn);
        if (slot == 0)
            throw Invariant.RmapCoverage.Violation("rmap_remove", $"SPTE 0x{sptep:x} maps gfn 0x{gfn:x}, which no memslot covers", Dump());
        yield return Call(PteListRemove(sptep, GfnToRmap(slot, gfn, level)));
    }
}

internal enum SpteWriter { Install, Update, Zap, Age, Hardware, FastPageFault }
