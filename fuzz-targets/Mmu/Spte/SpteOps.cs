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
    /// mmu_spte_update(): atomic exchange (the SPTE may have volatile A/D bits), carries A/D state
    /// over to the pfn, and returns whether a remote TLB flush is needed.
    /// </summary>
    private bool MmuSpteUpdate(ulong sptep, ulong newSpte)
    {
        ulong old = _mem.Exchange(sptep, newSpte);
        bool flush = false;
        if (Spte.IsShadowPresent(old))
        {
            if (Spte.IsMmuWritable(old) && !Spte.IsWritable(newSpte)) flush = true;
            if (Spte.IsAccessed(old) && !Spte.IsAccessed(newSpte))
            {
                flush = true;
                SetPfnAccessed(Spte.ToPfn(old));
            }
            if (Spte.IsDirty(old) && !Spte.IsDirty(newSpte))
            {
                flush = true;
                SetPfnDirty(Spte.ToPfn(old));
            }
        }
        _check.OnSpteWrite(sptep, old, newSpte, SpteWriter.Update);
        return flush;
    }

    /// <summary>mmu_spte_clear_track_bits(): zaps the SPTE and passes its A/D state to the pfn. Returns the old SPTE.</summary>
    internal ulong MmuSpteClearTrackBits(ulong sptep)
    {
        ulong old = _mem.Exchange(sptep, 0);
        if (Spte.IsShadowPresent(old))
        {
            ulong pfn = Spte.ToPfn(old);
            if (Spte.IsAccessed(old)) SetPfnAccessed(pfn);
            if (Spte.IsDirty(old)) SetPfnDirty(pfn);
        }
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

internal enum SpteWriter { Install, Update, Zap, Age, Hardware }
