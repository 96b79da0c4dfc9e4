namespace Fuzz.Targets.Mmu;

/// <summary>
/// Invariants 1-3 over the whole rmap structure: every rmap entry is a present leaf SPTE mapping
/// back to it, once; every present SPTE is in its rmap; every pte_list_desc chain has the shape
/// pte_list_add and pte_list_remove keep, and reaches only live descriptors (invariant 7); at
/// quiescence every descriptor still allocated is on some chain.
/// </summary>
internal sealed partial class Checker
{
    private readonly List<ulong> _seen = new();
    private readonly List<ulong> _reached = new();
    private bool _rmapsChanged = true;

    public void OnMemslotsSwapped() => _rmapsChanged = true;

    /// <remarks>
    /// Skipped when nothing it reads (memslots, rmap values, SPTE presence) changed since the last full
    /// check. It reads with Peek, and through the model's helpers only words they read with ReadConst:
    /// none of it counts as the running actor's access.
    /// </remarks>
    private void CheckRmaps(string where)
    {
        if (!_rmapsChanged) return;
        _rmapsChanged = false;
        _seen.Clear();
        foreach (var (_, slot) in Memslots)
        {
            ulong baseGfn = Mem.Peek(slot + Kvm.SBaseGfn * 8);
            for (int level = 1; level <= Kvm.Levels; level++)
            {
                var (first, last) = SlotRmaps(slot, level);
                for (ulong head = first; head <= last; head += 8)
                {
                    ulong val = Mem.Peek(head) & ~Kvm.KvmRmapLocked;
                    CheckShape(head, val);
                    if (val == 0) continue;
                    if ((val & Kvm.KvmRmapMany) == 0)
                    {
                        CheckEntry(where, slot, baseGfn, level, head, val);
                        continue;
                    }
                    foreach (ulong desc in new PteListDescIterator(Mem, val & ~Kvm.KvmRmapMany))
                    {
                        int n = (int)Mem.Peek(desc + PteListDesc.SpteCount * 8);
                        for (int i = 0; i < n; i++) CheckEntry(where, slot, baseGfn, level, head, Mem.Peek(desc + (ulong)(PteListDesc.Sptes + i) * 8));
                    }
                }
            }
        }
        foreach (ulong sptep in _installed)
        {
            if (!Mem.IsLive(sptep) || !Spte.IsShadowPresent(Mem.Peek(sptep)) || _seen.Contains(sptep)) continue;
            var info = _kvm.SpteInfo(sptep);
            throw Fail(Invariant.RmapCoverage, where, $"present SPTE 0x{sptep:x} (gfn 0x{info.Gfn:x}, alias {info.Alias}) is in no rmap");
        }
    }

    private void CheckEntry(string where, ulong slot, ulong baseGfn, int level, ulong head, ulong sptep)
    {
        if (!Mem.IsLive(sptep) || Mem.ObjectAt(sptep).Kind != Kvm.ObjShadowPage)
            throw Fail(Invariant.RmapContents, where, $"rmap 0x{head:x} holds 0x{sptep:x}, which is not a live SPTE");
        ulong spte = Mem.Peek(sptep);
        if (!Spte.IsShadowPresent(spte))
            throw Fail(Invariant.RmapContents, where, $"rmap 0x{head:x} holds non-present SPTE 0x{sptep:x}");
        var info = _kvm.SpteInfo(sptep);
        if (info.Level != level || _kvm.GfnToRmap(slot, info.Gfn, level) != head || info.Gfn < baseGfn || info.Gfn >= baseGfn + Kvm.SlotPages)
            throw Fail(Invariant.RmapContents, where, $"SPTE 0x{sptep:x} (gfn 0x{info.Gfn:x} level {info.Level}) is in the wrong rmap 0x{head:x}");
        if (_seen.Contains(sptep))
            throw Fail(Invariant.RmapContents, where, $"SPTE 0x{sptep:x} appears twice in rmaps");
        _seen.Add(sptep);
    }

    /// <summary>Invariant 3: head 1..14 entries, tails exactly 14, tail_count exact, unused slots empty.</summary>
    private void CheckShape(ulong head, ulong val)
    {
        if ((val & Kvm.KvmRmapMany) == 0) return;
        bool isHead = true;
        int guard = 0;
        foreach (ulong desc in new PteListDescIterator(Mem, val & ~Kvm.KvmRmapMany))
        {
            if (!Mem.IsLive(desc) || Mem.ObjectAt(desc).Kind != Kvm.ObjPteListDesc)
                throw Fail(Invariant.SafeFree, "rmap chain", $"rmap 0x{head:x} reaches 0x{desc:x}, which is not a live pte_list_desc");
            int n = (int)Mem.Peek(desc + PteListDesc.SpteCount * 8);
            if (isHead ? n is < 1 or > PteListDesc.PteListExt : n != PteListDesc.PteListExt)
                throw Fail(Invariant.DescShape, "pte_list_desc", $"rmap 0x{head:x}: {(isHead ? "head" : "tail")} descriptor 0x{desc:x} has {n} entries");
            int tail = 0;
            foreach (ulong d in new PteListDescIterator(Mem, Mem.Peek(desc + PteListDesc.More * 8)))
            {
                if (tail >= 1 << 20) break;
                tail += (int)Mem.Peek(d + PteListDesc.SpteCount * 8);
            }
            if ((int)Mem.Peek(desc + PteListDesc.TailCount * 8) != tail)
                throw Fail(Invariant.DescShape, "pte_list_desc", $"rmap 0x{head:x}: descriptor 0x{desc:x} tail_count {Mem.Peek(desc + PteListDesc.TailCount * 8)}, actual {tail}");
            for (int i = 0; i < PteListDesc.PteListExt; i++)
                if ((i < n) != (Mem.Peek(desc + (ulong)(PteListDesc.Sptes + i) * 8) != 0))
                    throw Fail(Invariant.DescShape, "pte_list_desc", $"rmap 0x{head:x}: descriptor 0x{desc:x} slot {i} is {(i < n ? "empty" : "used")} with spte_count {n}");
            isHead = false;
            if (++guard > 1000) throw Fail(Invariant.DescShape, "pte_list_desc", $"rmap 0x{head:x}: descriptor chain loops");
        }
    }

    /// <summary>
    /// Invariant 3 at quiescence, after CheckRmaps has found every chain sound: a pte_list_desc that is
    /// still allocated but that no rmap reaches has leaked (pte_list_desc_remove_entry frees a head it
    /// empties, kvm_zap_all_rmap_sptes every descriptor of the chain).
    /// </summary>
    private void CheckNoPteListDescLeaked()
    {
        var descs = _kvm.PteListDescs;
        if (descs.Count == 0) return;
        _reached.Clear();
        AddParentPteDescs(_reached);
        foreach (var (_, slot) in Memslots)
            for (int level = 1; level <= Kvm.Levels; level++)
            {
                var (first, last) = SlotRmaps(slot, level);
                for (ulong head = first; head <= last; head += 8)
                {
                    ulong val = Mem.Peek(head);
                    if ((val & Kvm.KvmRmapMany) == 0) continue;
                    foreach (ulong desc in new PteListDescIterator(Mem, val & ~(Kvm.KvmRmapMany | Kvm.KvmRmapLocked))) _reached.Add(desc);
                }
            }
        for (int i = 0; i < descs.Count; i++)
            if (Mem.IsLive(descs[i]) && !_reached.Contains(descs[i]))
                throw Fail(Invariant.DescShape, "quiescent", $"pte_list_desc 0x{descs[i]:x} is allocated but no rmap reaches it: leaked");
    }
}
