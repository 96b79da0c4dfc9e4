namespace Fuzz.Targets.Mmu;

/// <summary>
/// Invariants 5-7 over the shadow pages: parent pointers and non-leaf SPTEs agree; no two valid
/// pages share (gfn, role), every live page is hashed and, unless it is a zapped root still in use,
/// on active_mmu_pages; a page is freed only when nothing reaches it, after the flush that follows
/// its zap, with no shadow-present SPTE left (kvm_mmu_check_sptes_at_free); at quiescence no page is
/// left allocated that nothing reaches.
/// </summary>
internal sealed partial class Checker
{
    private bool _spFull = true;
    private long _flushes;
    private readonly Dictionary<ulong, long> _zappedAtFlush = new();
    private readonly List<ulong> _touched = new();
    private readonly HashSet<ulong> _touchedSet = new();

    private void ResetShadowPages()
    {
        _spFull = true;
        _flushes = 0;
        _zappedAtFlush.Clear();
        _touched.Clear();
        _touchedSet.Clear();
    }

    private void Touch(ulong sp)
    {
        if (_touchedSet.Add(sp)) _touched.Add(sp);
    }

    /// <summary>Every page's validity changed (mmu_valid_gen toggled): the next check looks at all of them.</summary>
    public void OnShadowMmuChanged() => _spFull = true;

    /// <summary>A vCPU took or dropped <paramref name="root"/>.</summary>
    public void OnVcpuRootChanged(ulong root) => Touch(root);

    public void OnShadowPageAllocated(ulong sp) => Touch(sp);

    /// <summary>A non-leaf SPTE of a page was set to point at <paramref name="child"/>, or cleared from pointing at it.</summary>
    public void OnNonleafSpteWrite(ulong sptep, ulong child)
    {
        Touch(_kvm.SpteInfo(sptep).Sp);
        Touch(child);
    }

    public void OnShadowPageZapped(ulong sp)
    {
        Touch(sp);
        _zappedAtFlush[sp] = _flushes;
    }

    private ulong Field(ulong sp, int field) => Mem.Peek(Kvm.SpField(sp, field));
    private int LevelOf(ulong sp) => SpRole.Level(Field(sp, ShadowPage.Role));
    private bool IsObsolete(ulong sp) => SpRole.IsInvalid(Field(sp, ShadowPage.Role)) || Field(sp, ShadowPage.MmuValidGen) != Mem.Peek(_kvm.MmuValidGenAddr);

    /// <summary>Whether <paramref name="sptep"/> is an SPTE of a page of an older mmu_valid_gen: no vCPU can use it after kvm_mmu_zap_all_fast() kicked them.</summary>
    private bool InObsoleteGeneration(ulong sptep)
    {
        var (sp, _, _, _) = _kvm.SpteInfo(sptep);
        return Field(sp, ShadowPage.MmuValidGen) != Mem.Peek(_kvm.MmuValidGenAddr);
    }

    /// <summary>Whether the pte_list value <paramref name="val"/> (an rmap or parent_ptes) holds <paramref name="sptep"/>.</summary>
    private bool ListHolds(ulong val, ulong sptep)
    {
        val &= ~Kvm.KvmRmapLocked;
        if (val == 0) return false;
        if ((val & Kvm.KvmRmapMany) == 0) return val == sptep;
        foreach (ulong desc in new PteListDescIterator(Mem, val & ~Kvm.KvmRmapMany))
        {
            int n = (int)Mem.Peek(desc + PteListDesc.SpteCount * 8);
            for (int i = 0; i < n && i < PteListDesc.PteListExt; i++)
                if (Mem.Peek(desc + (ulong)(PteListDesc.Sptes + i) * 8) == sptep) return true;
        }
        return false;
    }

    private bool IsLiveShadowPage(ulong p) => Mem.IsLive(p) && Mem.ObjectAt(p).Kind == Kvm.ObjShadowPage && Mem.ObjectAt(p).FirstWord == (int)((p - Fuzz.Engine.Memory.SimMemory.Base) >> 3);

    private string PageName(ulong p)
    {
        ulong role = Field(p, ShadowPage.Role);
        return $"shadow page 0x{p:x} ({Labels.ShadowPageLabel(SpRole.Level(role), SpRole.Alias(role), Field(p, ShadowPage.Gfn))})";
    }

    /// <summary>
    /// Invariants 5-7 when mmu_lock is released, for the pages changed since the last check (all of
    /// them after mmu_valid_gen changed, and at quiescence, when the hash and the list are walked whole).
    /// </summary>
    private void CheckShadowPages(string where)
    {
        bool full = _spFull || where == "quiescent";
        if (!full && _touched.Count == 0) return;
        _spFull = false;
        if (full)
        {
            CheckHashAndList(where);
            foreach (ulong p in _kvm.ShadowPages) if (Mem.IsLive(p)) CheckPage(where, p);
        }
        else
        {
            foreach (ulong p in _touched) if (Mem.IsLive(p)) CheckPage(where, p);
        }
        _touched.Clear();
        _touchedSet.Clear();
        for (int v = 0; v < Kvm.MaxVcpus; v++)
        {
            ulong root = Mem.Peek(_kvm.VcpuRootAddr(v));
            if (root != 0 && !IsLiveShadowPage(root))
                throw Fail(Invariant.SafeFree, where, $"vCPU {v}'s root 0x{root:x} is not a live shadow page");
        }
    }

    /// <summary>The hash buckets and active_mmu_pages walked whole: live pages only, each in its own bucket, no loops, the list's links consistent.</summary>
    private void CheckHashAndList(string where)
    {
        int limit = _kvm.ShadowPages.Count;
        for (int b = 0; b < Kvm.KvmNumMmuPages; b++)
        {
            int guard = 0;
            for (ulong p = Mem.Peek(_kvm.HashBucketAddr(b)); p != 0; p = Field(p, ShadowPage.HashNext))
            {
                if (!IsLiveShadowPage(p))
                    throw Fail(Invariant.SafeFree, where, $"mmu_page_hash bucket {b} reaches 0x{p:x}, which is not a live shadow page");
                if (Kvm.KvmPageTableHashfn(Field(p, ShadowPage.Gfn)) != b)
                    throw Fail(Invariant.HashUniqueness, where, $"{PageName(p)} is in hash bucket {b}, not its own");
                if (++guard > limit)
                    throw Fail(Invariant.HashUniqueness, where, $"mmu_page_hash bucket {b} loops");
            }
        }
        ulong prev = 0;
        int n = 0;
        for (ulong p = Mem.Peek(_kvm.ActiveHeadAddr); p != 0; prev = p, p = Field(p, ShadowPage.LinkNext))
        {
            if (!IsLiveShadowPage(p))
                throw Fail(Invariant.SafeFree, where, $"active_mmu_pages reaches 0x{p:x}, which is not a live shadow page");
            if (Field(p, ShadowPage.LinkPrev) != prev || ++n > limit)
                throw Fail(Invariant.HashUniqueness, where, $"active_mmu_pages is broken at 0x{p:x}");
        }
        if (Mem.Peek(_kvm.ActiveTailAddr) != prev)
            throw Fail(Invariant.HashUniqueness, where, "active_mmu_pages' tail is not its last page");
    }

    /// <summary>One live page: hashed, and unique among valid pages there; listed unless zapped; parent pointers both ways; root_count = the vCPUs using it.</summary>
    private void CheckPage(string where, ulong p)
    {
        ulong role = Field(p, ShadowPage.Role), gfn = Field(p, ShadowPage.Gfn);
        bool hashed = false, valid = !IsObsolete(p);
        for (ulong q = Mem.Peek(_kvm.HashBucketAddr(Kvm.KvmPageTableHashfn(gfn))); q != 0 && Mem.IsLive(q); q = Field(q, ShadowPage.HashNext))
        {
            if (q == p) { hashed = true; continue; }
            if (valid && !IsObsolete(q) && Field(q, ShadowPage.Gfn) == gfn && Field(q, ShadowPage.Role) == role)
                throw Fail(Invariant.HashUniqueness, where, $"{PageName(p)} and shadow page 0x{q:x} share gfn and role");
        }
        if (!hashed)
            throw Fail(Invariant.HashUniqueness, where, $"{PageName(p)} is allocated but not in mmu_page_hash");
        bool invalid = SpRole.IsInvalid(role);
        ulong prev = Field(p, ShadowPage.LinkPrev), next = Field(p, ShadowPage.LinkNext);
        bool listed = (prev == 0 ? Mem.Peek(_kvm.ActiveHeadAddr) == p : Field(prev, ShadowPage.LinkNext) == p)
            && (next == 0 ? Mem.Peek(_kvm.ActiveTailAddr) == p : Field(next, ShadowPage.LinkPrev) == p);
        if (!invalid && !listed)
            throw Fail(Invariant.HashUniqueness, where, $"{PageName(p)} is allocated but not on active_mmu_pages");
        if (invalid && listed)
            throw Fail(Invariant.HashUniqueness, where, $"zapped {PageName(p)} is still on active_mmu_pages");
        // A zap that yields (kvm_zap_obsolete_pages) keeps its zapped pages on its list across the yield; by quiescence all are freed.
        if (invalid && Field(p, ShadowPage.RootCount) == 0 && where == "quiescent")
            throw Fail(Invariant.SafeFree, where, $"{PageName(p)} was zapped and nothing uses it, but it was never freed");
        ulong users = 0;
        for (int v = 0; v < Kvm.MaxVcpus; v++) if (Mem.Peek(_kvm.VcpuRootAddr(v)) == p) users++;
        if (Field(p, ShadowPage.RootCount) != users)
            throw Fail(Invariant.SafeFree, where, $"{PageName(p)} has root_count {Field(p, ShadowPage.RootCount)} but {users} vCPUs use it as root");
        CheckParentPtes(where, p);
        int level = SpRole.Level(role);
        if (Kvm.IsLastSpte(level)) return;
        for (int i = 0; i < Kvm.MaxSlots; i++)
        {
            ulong sptep = Kvm.SpSpte(p, i), spte = Mem.Peek(sptep);
            if (!Spte.IsShadowPresent(spte)) continue;
            ulong child = Kvm.SpteToChildSp(spte);
            if (!IsLiveShadowPage(child))
                throw Fail(Invariant.SafeFree, where, $"non-leaf SPTE 0x{sptep:x} of {PageName(p)} points at 0x{child:x}, which is not a live shadow page");
            if (LevelOf(child) != level - 1)
                throw Fail(Invariant.ParentPointers, where, $"non-leaf SPTE 0x{sptep:x} of {PageName(p)} points at a level {LevelOf(child)} page");
            if (!ListHolds(Field(child, ShadowPage.ParentPtes), sptep))
                throw Fail(Invariant.ParentPointers, where, $"non-leaf SPTE 0x{sptep:x} of {PageName(p)} points at 0x{child:x}, whose parent_ptes do not hold it");
        }
    }

    /// <summary>Invariant 5, the other way: every parent_ptes entry is a present non-leaf SPTE of a live page, pointing back.</summary>
    private void CheckParentPtes(string where, ulong p)
    {
        ulong val = Field(p, ShadowPage.ParentPtes) & ~Kvm.KvmRmapLocked;
        if (val == 0) return;
        CheckShape(Kvm.SpField(p, ShadowPage.ParentPtes), val);
        if ((val & Kvm.KvmRmapMany) == 0) { CheckParentPte(where, p, val); return; }
        foreach (ulong desc in new PteListDescIterator(Mem, val & ~Kvm.KvmRmapMany))
        {
            int n = (int)Mem.Peek(desc + PteListDesc.SpteCount * 8);
            for (int i = 0; i < n; i++) CheckParentPte(where, p, Mem.Peek(desc + (ulong)(PteListDesc.Sptes + i) * 8));
        }
    }

    private void CheckParentPte(string where, ulong p, ulong parent)
    {
        if (!Mem.IsLive(parent) || Mem.ObjectAt(parent).Kind != Kvm.ObjShadowPage)
            throw Fail(Invariant.ParentPointers, where, $"parent_ptes of {PageName(p)} hold 0x{parent:x}, which is not a live SPTE");
        ulong spte = Mem.Peek(parent);
        if (!Spte.IsShadowPresent(spte) || Kvm.SpteToChildSp(spte) != p)
            throw Fail(Invariant.ParentPointers, where, $"parent_ptes of {PageName(p)} hold SPTE 0x{parent:x}, which does not point at it: {Spte.Describe(spte)}");
    }

    /// <summary>
    /// Invariant 7 at kvm_mmu_free_shadow_page(): zapped, not a root in use, no shadow-present SPTE
    /// (kvm_mmu_check_sptes_at_free), no parent, out of the hash and the active list, and a remote
    /// flush (which waits for lockless walkers) since it was zapped.
    /// </summary>
    public void OnShadowPageFreeing(ulong sp)
    {
        string name = $"shadow page 0x{sp:x}";
        if (!SpRole.IsInvalid(Field(sp, ShadowPage.Role)) || !_zappedAtFlush.TryGetValue(sp, out long zappedAt))
            throw Fail(Invariant.SafeFree, "kvm_mmu_free_shadow_page", $"{name} is freed without kvm_mmu_prepare_zap_page()");
        if (_flushes <= zappedAt)
            throw Fail(Invariant.SafeFree, "kvm_mmu_free_shadow_page", $"{name} is freed before a remote TLB flush since it was zapped");
        if (Field(sp, ShadowPage.RootCount) != 0)
            throw Fail(Invariant.SafeFree, "kvm_mmu_free_shadow_page", $"{name} is freed with root_count {Field(sp, ShadowPage.RootCount)}");
        for (int i = 0; i < ShadowPage.Populated(LevelOf(sp)); i++)
            if (Spte.IsShadowPresent(Mem.Peek(Kvm.SpSpte(sp, i))))
                throw Fail(Invariant.SafeFree, "kvm_mmu_check_sptes_at_free", $"{name} is freed with shadow-present SPTE {i}: {Spte.Describe(Mem.Peek(Kvm.SpSpte(sp, i)))}");
        if (Field(sp, ShadowPage.ParentPtes) != 0)
            throw Fail(Invariant.SafeFree, "kvm_mmu_free_shadow_page", $"{name} is freed with parent_ptes 0x{Field(sp, ShadowPage.ParentPtes):x}");
        for (int v = 0; v < Kvm.MaxVcpus; v++)
            if (Mem.Peek(_kvm.VcpuRootAddr(v)) == sp)
                throw Fail(Invariant.SafeFree, "kvm_mmu_free_shadow_page", $"{name} is freed while vCPU {v} uses it as root");
        for (int b = 0; b < Kvm.KvmNumMmuPages; b++)
            for (ulong p = Mem.Peek(_kvm.HashBucketAddr(b)); p != 0 && Mem.IsLive(p); p = Field(p, ShadowPage.HashNext))
                if (p == sp) throw Fail(Invariant.SafeFree, "kvm_mmu_free_shadow_page", $"{name} is freed while still in mmu_page_hash");
        for (ulong p = Mem.Peek(_kvm.ActiveHeadAddr); p != 0 && Mem.IsLive(p); p = Field(p, ShadowPage.LinkNext))
            if (p == sp) throw Fail(Invariant.SafeFree, "kvm_mmu_free_shadow_page", $"{name} is freed while still on active_mmu_pages");
        foreach (ulong p in _kvm.ShadowPages)
        {
            if (p == sp || !Mem.IsLive(p) || Kvm.IsLastSpte(LevelOf(p))) continue;
            for (int i = 0; i < Kvm.MaxSlots; i++)
            {
                ulong spte = Mem.Peek(Kvm.SpSpte(p, i));
                if (Spte.IsShadowPresent(spte) && Kvm.SpteToChildSp(spte) == sp)
                    throw Fail(Invariant.SafeFree, "kvm_mmu_free_shadow_page", $"{name} is freed while SPTE 0x{Kvm.SpSpte(p, i):x} still points at it");
            }
        }
        _zappedAtFlush.Remove(sp);
    }

    /// <summary>
    /// At quiescence, after CheckShadowPages: a level-1 page with no parent that the hash lookup
    /// would not return for its gfn and role is an orphan nothing can reach again: leaked.
    /// </summary>
    private void CheckNoShadowPageLeaked()
    {
        foreach (ulong p in _kvm.ShadowPages)
        {
            if (!Mem.IsLive(p) || LevelOf(p) == Kvm.RootLevel || Field(p, ShadowPage.ParentPtes) != 0) continue;
            if (_kvm.PeekFindShadowPage(Field(p, ShadowPage.Gfn), Field(p, ShadowPage.Role)) == p) continue;
            throw Fail(Invariant.HashUniqueness, "quiescent", $"shadow page 0x{p:x} ({Labels.ShadowPageLabel(LevelOf(p), SpRole.Alias(Field(p, ShadowPage.Role)), Field(p, ShadowPage.Gfn))}) has no parent and the hash lookup does not find it: leaked");
        }
    }

    /// <summary>The pte_list_desc chains of the live pages' parent_ptes, for the descriptor leak check.</summary>
    private void AddParentPteDescs(List<ulong> reached)
    {
        foreach (ulong p in _kvm.ShadowPages)
        {
            if (!Mem.IsLive(p)) continue;
            ulong val = Field(p, ShadowPage.ParentPtes);
            if ((val & Kvm.KvmRmapMany) == 0) continue;
            foreach (ulong desc in new PteListDescIterator(Mem, val & ~(Kvm.KvmRmapMany | Kvm.KvmRmapLocked))) reached.Add(desc);
        }
    }

    /// <summary>The shadow pages for a violation report: each live page's role, gfn, generation, root_count and parent_ptes, and the vCPUs' roots.</summary>
    private void DumpShadowPages(System.Text.StringBuilder sb)
    {
        if (_kvm.ShadowPages.Count == 0) return;
        sb.AppendLine($"shadow pages (mmu_valid_gen {Mem.Peek(_kvm.MmuValidGenAddr)}, used {Mem.Peek(_kvm.UsedPagesAddr)} of {Mem.Peek(_kvm.MaxPagesAddr)}):");
        foreach (ulong p in _kvm.ShadowPages)
        {
            if (!Mem.IsLive(p)) continue;
            ulong role = Field(p, ShadowPage.Role);
            sb.AppendLine($"  {PageName(p)}: gen {Field(p, ShadowPage.MmuValidGen)}{(SpRole.IsInvalid(role) ? " INVALID" : "")} root_count {Field(p, ShadowPage.RootCount)} parent_ptes 0x{Field(p, ShadowPage.ParentPtes):x}");
        }
        sb.AppendLine($"  vCPU roots: {string.Join(", ", Enumerable.Range(0, Kvm.MaxVcpus).Select(v => $"0x{Mem.Peek(_kvm.VcpuRootAddr(v)):x}"))}");
    }
}
