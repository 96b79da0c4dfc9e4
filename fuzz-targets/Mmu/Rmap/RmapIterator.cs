namespace Fuzz.Targets.Mmu;

/// <summary>struct rmap_iterator: the descriptor being walked (0 for a single-SPTE rmap) and the position in it.</summary>
internal struct RmapIterator
{
    public ulong Desc;
    public int Pos;
}

public sealed partial class Kvm
{
    /// <summary>rmap_get_first(): one step; reads the rmap value (ignoring LOCKED) and the first entry.</summary>
    internal ulong RmapGetFirst(ulong head, ref RmapIterator iter)
    {
        ulong rmapVal = _mem.Read(head) & ~KvmRmapLocked;   // kvm_rmap_get()
        if (rmapVal == 0) return 0;
        if ((rmapVal & KvmRmapMany) == 0)
        {
            iter.Desc = 0;
            return rmapVal;
        }
        iter.Desc = rmapVal & ~KvmRmapMany;
        iter.Pos = 0;
        return _mem.Read(DescSpte(iter.Desc, 0));
    }

    /// <summary>rmap_get_next(): one step.</summary>
    internal ulong RmapGetNext(ref RmapIterator iter)
    {
        if (iter.Desc == 0) return 0;
        if (iter.Pos < PteListDesc.PteListExt - 1)
        {
            ++iter.Pos;
            ulong s = _mem.Read(DescSpte(iter.Desc, iter.Pos));
            if (s != 0) return s;
        }
        iter.Desc = _mem.Read(DescField(iter.Desc, PteListDesc.More));
        if (iter.Desc == 0) return 0;
        iter.Pos = 0;
        return _mem.Read(DescSpte(iter.Desc, 0));   // desc->sptes[0] cannot be NULL
    }

    /// <summary>
    /// The SPTE for_each_rmap_spte() visits. The walker is for mmu_lock holders and BUG()s on a
    /// non-present SPTE, because with mmu_lock held for write no one else can zap one.
    /// </summary>
    private ulong ReadRmapSpte(ulong head, ulong sptep, string site)
    {
        ulong spte = _mem.Read(sptep);
        if (!Spte.IsShadowPresent(spte))
            throw Invariant.RmapContents.Violation(site,
                $"BUG: for_each_rmap_spte() found non-present SPTE 0x{sptep:x} ({Spte.Describe(spte)}) in rmap 0x{head:x}", Dump());
        return spte;
    }

    /// <summary>
    /// for_each_rmap_spte() with the loop body as a coroutine, for the walks that choose their
    /// walker at run time (see <see cref="ReadRmapSpte"/>). Calls <paramref name="body"/> with
    /// (sptep, spte); the body sets Ret = 1 to stop the walk.
    /// </summary>
    internal Co ForEachRmapSpte(ulong head, Func<ulong, ulong, Co> body, string site)
    {
        var self = Self;
        var iter = default(RmapIterator);
        yield return null;
        for (ulong sptep = RmapGetFirst(head, ref iter); sptep != 0;)
        {
            yield return null;
            ulong spte = ReadRmapSpte(head, sptep, site);
            self.Ret = 0;
            yield return Call(body(sptep, spte));
            if (self.Ret != 0) yield break;
            yield return null;
            sptep = RmapGetNext(ref iter);
        }
        self.Ret = 0;
    }

    /// <summary>for_each_rmap_spte_lockless(): skips SPTEs that a concurrent zap already cleared.</summary>
    internal Co ForEachRmapSpteLockless(ulong head, Func<ulong, ulong, Co> body)
    {
        var self = Self;
        var iter = default(RmapIterator);
        yield return null;
        for (ulong sptep = RmapGetFirst(head, ref iter); sptep != 0;)
        {
            yield return null;
            ulong spte = _mem.Read(sptep);                   // mmu_spte_get_lockless()
            if (Spte.IsShadowPresent(spte))
            {
                self.Ret = 0;
                yield return Call(body(sptep, spte));
                if (self.Ret != 0) yield break;
            }
            yield return null;
            sptep = RmapGetNext(ref iter);
        }
        self.Ret = 0;
    }
}
