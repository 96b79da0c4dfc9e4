using Fuzz.Engine.Memory;

namespace Fuzz.Targets.Mmu;

/// <summary>
/// struct kvm_mmu_page in simulated memory: gfn and role (the level and alias bits immutable once
/// published, invalid set when the page is zapped), parent_ptes (a pte_list like an rmap),
/// root_count, mmu_valid_gen, the hash_link and link list words, then the SPTE table. Of its 512
/// entries only those the model's gfns can reach are allocated: the first SlotPages of a level-1
/// table (a memslot lies in the first 2M of its region), the first MaxSlots of a root.
/// </summary>
internal static class ShadowPage
{
    public const int Gfn = 0, Role = 1, ParentPtes = 2, RootCount = 3, MmuValidGen = 4, HashNext = 5, LinkPrev = 6, LinkNext = 7,
        Sptes = 8;

    /// <summary>The SPTE indexes a table of <paramref name="level"/> can have populated.</summary>
    public static int Populated(int level) => level == 1 ? Kvm.SlotPages : Kvm.MaxSlots;

    public static int Words(int level) => Sptes + Populated(level);
}

/// <summary>
/// union kvm_mmu_page_role as the model uses it: level, the guest translation (alias) the page's
/// root serves, which stands for the role bits that tell one root's pages from another's
/// (address space, guest mode, quadrant), direct, invalid.
/// </summary>
internal static class SpRole
{
    public const ulong LevelMask = 0xf;
    public const int AliasShift = 4;
    public const ulong AliasMask = 0xffUL << AliasShift;
    public const ulong Direct = 1UL << 12;
    public const ulong Invalid = 1UL << 13;

    public static ulong Make(int level, int alias) => (uint)level | ((uint)alias << AliasShift) | Direct;
    public static int Level(ulong role) => (int)(role & LevelMask);
    public static int Alias(ulong role) => (int)((role & AliasMask) >> AliasShift);
    public static bool IsInvalid(ulong role) => (role & Invalid) != 0;
}

public sealed partial class Kvm
{
    public const int RootLevel = 2;
    public const int KvmMmuHashShift = 2;              // KVM_MMU_HASH_SHIFT, small so that gfns collide
    public const int KvmNumMmuPages = 1 << KvmMmuHashShift;
    public const ulong DefaultMaxMmuPages = 128, SmallMaxMmuPages = 8;   // kvm->arch.n_max_mmu_pages

    // kvm->arch words of the shadow MMU: mmu_valid_gen, n_used/n_max_mmu_pages, active_mmu_pages (head = newest, tail = oldest), mmu_page_hash
    private const int AValidGen = 0, AUsedPages = 1, AMaxPages = 2, AActiveHead = 3, AActiveTail = 4, AHash = 5, ArchWords = AHash + KvmNumMmuPages;

    private ulong _arch;
    private ulong _vcpuRoots;

    internal ulong ArchAddr(int word) => _arch + (ulong)word * 8;
    internal ulong MmuValidGenAddr => ArchAddr(AValidGen);
    internal ulong UsedPagesAddr => ArchAddr(AUsedPages);
    internal ulong MaxPagesAddr => ArchAddr(AMaxPages);
    internal ulong ActiveHeadAddr => ArchAddr(AActiveHead);
    internal ulong ActiveTailAddr => ArchAddr(AActiveTail);
    internal ulong HashBucketAddr(int bucket) => ArchAddr(AHash + bucket);

    /// <summary>vcpu->arch.mmu->root.hpa of each vCPU: its current root page, or 0.</summary>
    internal ulong VcpuRootAddr(int vcpu) => _vcpuRoots + (ulong)vcpu * 8;

    /// <summary>Every kvm_mmu_page of this run, freed or not, in allocation order.</summary>
    private readonly List<ulong> _shadowPages = new();
    internal IReadOnlyList<ulong> ShadowPages => _shadowPages;

    private void InitShadowMmu(ulong maxMmuPages)
    {
        _shadowPages.Clear();
        _arch = _mem.Alloc(ArchWords, ObjKvmArchMmu, "kvm->arch shadow MMU");
        _mem.Write(MaxPagesAddr, maxMmuPages);
        _vcpuRoots = _mem.Alloc(MaxVcpus, ObjVcpuRoots, "vcpu->arch.mmu->root of each vCPU");
        // Every vCPU has entered the guest once through translation 0: kvm_mmu_load() gave it that root.
        ulong role = SpRole.Make(RootLevel, 0);
        ulong root = _mem.Alloc(ShadowPage.Words(RootLevel), ObjShadowPage, Labels.ShadowPageLabel(RootLevel, 0, 0));
        _shadowPages.Add(root);
        _mem.Write(SpField(root, ShadowPage.Role), role);
        _mem.Write(SpField(root, ShadowPage.RootCount), MaxVcpus);
        _mem.Write(ActiveHeadAddr, root);
        _mem.Write(ActiveTailAddr, root);
        _mem.Write(UsedPagesAddr, 1);
        _mem.Write(HashBucketAddr(KvmPageTableHashfn(0)), root);
        for (int v = 0; v < MaxVcpus; v++) _mem.Write(VcpuRootAddr(v), root);
    }

    internal static ulong SpField(ulong sp, int field) => sp + (ulong)field * 8;
    internal static ulong SpSpte(ulong sp, int index) => sp + (ulong)(ShadowPage.Sptes + index) * 8;

    /// <summary>kvm_page_table_hashfn(): hash_64(gfn, KVM_MMU_HASH_SHIFT).</summary>
    internal static int KvmPageTableHashfn(ulong gfn) => (int)((gfn * 0x61C8864680B583EBUL) >> (64 - KvmMmuHashShift));

    /// <summary>The index of <paramref name="gfn"/>'s SPTE in a page of <paramref name="level"/> (SPTE_INDEX).</summary>
    internal static int SpteIndex(ulong gfn, int level) => (int)((gfn >> ((level - 1) * 9)) & 511);

    /// <summary>The gfn a page of <paramref name="level"/> covering <paramref name="gfn"/> is keyed on (gfn_round_for_level of the level above).</summary>
    internal static ulong SpBaseGfn(ulong gfn, int level) => gfn & ~((1UL << (level * 9)) - 1);

    /// <summary>A non-leaf SPTE (make_nonleaf_spte): present, RWX, the child table's address in the pfn field.</summary>
    internal static ulong MakeNonleafSpte(ulong childSp) => Spte.MmuPresent | Spte.RwxMask | Spte.Accessed | ((childSp >> 3) << Spte.PfnShift);

    /// <summary>spte_to_child_sp().</summary>
    internal static ulong SpteToChildSp(ulong spte) => Spte.ToPfn(spte) << 3;

    /// <summary>is_last_spte(): the model installs leaves at 4K only.</summary>
    internal static bool IsLastSpte(int level) => level == 1;

    /// <summary>is_obsolete_sp(): invalid, or of an older mmu_valid_gen. One step.</summary>
    private bool IsObsoleteSp(ulong sp) =>
        SpRole.IsInvalid(_mem.Read(SpField(sp, ShadowPage.Role))) || _mem.Read(SpField(sp, ShadowPage.MmuValidGen)) != _mem.Read(MmuValidGenAddr);

    /// <summary>
    /// The SPTE of (alias, gfn) in the level-1 page the gfn hash holds for it, read around the
    /// scheduler (for tests and the checker); 0 if there is none. Pages are made only by
    /// kvm_mmu_get_shadow_page() under mmu_lock.
    /// </summary>
    internal ulong SpteAddr(int alias, ulong gfn)
    {
        ulong sp = PeekFindShadowPage(SpBaseGfn(gfn, 1), SpRole.Make(1, alias));
        return sp == 0 ? 0 : SpSpte(sp, SpteIndex(gfn, 1));
    }

    /// <summary>What __kvm_mmu_find_shadow_page() would return now, read around the scheduler.</summary>
    internal ulong PeekFindShadowPage(ulong gfn, ulong role)
    {
        ulong gen = _mem.Peek(MmuValidGenAddr);
        for (ulong sp = _mem.Peek(HashBucketAddr(KvmPageTableHashfn(gfn))); sp != 0; sp = _mem.Peek(SpField(sp, ShadowPage.HashNext)))
            if (_mem.Peek(SpField(sp, ShadowPage.Gfn)) == gfn && _mem.Peek(SpField(sp, ShadowPage.Role)) == role && _mem.Peek(SpField(sp, ShadowPage.MmuValidGen)) == gen)
                return sp;
        return 0;
    }

    /// <summary>The shadow page, gfn, level and alias an SPTE pointer belongs to (sptep_to_sp + kvm_mmu_page_get_gfn).</summary>
    internal (ulong Sp, ulong Gfn, int Level, int Alias) SpteInfo(ulong sptep)
    {
        var o = _mem.ObjectAt(sptep);
        ulong sp = SimMemory.Base + ((ulong)o.FirstWord << 3);
        int index = (int)((sptep - sp) >> 3) - ShadowPage.Sptes;
        ulong role = _mem.ReadConst(SpField(sp, ShadowPage.Role));
        int level = SpRole.Level(role);
        return (sp, _mem.ReadConst(SpField(sp, ShadowPage.Gfn)) + ((ulong)index << ((level - 1) * 9)), level, SpRole.Alias(role));
    }

    /// <summary>
    /// __kvm_mmu_find_shadow_page(): walk the gfn's hash bucket for a valid page of that gfn and
    /// role (for_each_valid_sp skips obsolete pages); 0 if none. Under mmu_lock for write, which
    /// every writer of the hash and the page headers holds: part of the caller's step.
    /// </summary>
    private ulong KvmMmuFindShadowPage(ulong gfn, ulong role)
    {
        ulong sp = _mem.Read(HashBucketAddr(KvmPageTableHashfn(gfn)));
        for (; sp != 0; sp = _mem.Read(SpField(sp, ShadowPage.HashNext)))
            if (!IsObsoleteSp(sp) && _mem.ReadConst(SpField(sp, ShadowPage.Gfn)) == gfn && _mem.Read(SpField(sp, ShadowPage.Role)) == role) break;
        return sp;
    }

    /// <summary>
    /// kvm_mmu_alloc_shadow_page(): a zeroed page with the current mmu_valid_gen, added at the head
    /// of active_mmu_pages (a FIFO: kvm_zap_obsolete_pages() relies on it), accounted, and added at
    /// the head of its hash bucket. Under mmu_lock for write: part of the caller's step.
    /// </summary>
    private ulong KvmMmuAllocShadowPage(ulong gfn, ulong role)
    {
        ulong gen = _mem.Read(MmuValidGenAddr);
        ulong sp = _mem.Alloc(ShadowPage.Words(SpRole.Level(role)), ObjShadowPage, Labels.ShadowPageLabel(SpRole.Level(role), SpRole.Alias(role), gfn));
        _shadowPages.Add(sp);
        _mem.Write(SpField(sp, ShadowPage.Gfn), gfn);
        _mem.Write(SpField(sp, ShadowPage.Role), role);
        _mem.Write(SpField(sp, ShadowPage.MmuValidGen), gen);
        ulong head = _mem.Read(ActiveHeadAddr);                 // list_add(&sp->link, &kvm->arch.active_mmu_pages)
        _mem.Write(SpField(sp, ShadowPage.LinkNext), head);
        if (head != 0) _mem.Write(SpField(head, ShadowPage.LinkPrev), sp);
        else _mem.Write(ActiveTailAddr, sp);
        _mem.Write(ActiveHeadAddr, sp);
        _mem.FetchAdd(UsedPagesAddr, 1);                        // kvm_account_mmu_page()
        ulong bucket = HashBucketAddr(KvmPageTableHashfn(gfn));  // hlist_add_head(&sp->hash_link, sp_list)
        _mem.Write(SpField(sp, ShadowPage.HashNext), _mem.Read(bucket));
        _mem.Write(bucket, sp);
        _check.OnShadowPageAllocated(sp);
        _m.Event(MmuEvent.ShadowPageAllocated, (ulong)SpRole.Level(role));
        if (Tracing) _m.Log($"kvm_mmu_alloc_shadow_page: {Labels.ShadowPageLabel(SpRole.Level(role), SpRole.Alias(role), gfn)} at 0x{sp:x}");
        return sp;
    }

    /// <summary>
    /// kvm_mmu_get_shadow_page() → __kvm_mmu_get_shadow_page(): the valid page of (gfn, role) from the
    /// hash, else a new one. <paramref name="link"/> says the caller links it under a non-present
    /// SPTE (kvm_mmu_get_child_sp), where the direct-skip-hash variant skips the lookup. Ret = the page.
    /// </summary>
    private Co KvmMmuGetShadowPage(ulong gfn, ulong role, bool link)
    {
        var self = Self;
        yield return null;
        ulong sp = 0;
        if (!(link && (role & SpRole.Direct) != 0 && _bugs.Has(Bugs.DirectSkipHash))) sp = KvmMmuFindShadowPage(gfn, role);
        if (sp == 0) sp = KvmMmuAllocShadowPage(gfn, role);
        self.Ret = sp;
    }

    /// <summary>
    /// link_shadow_page() → __link_shadow_page(): the SPTE must not be present (the model never
    /// replaces a huge leaf); set the non-leaf SPTE, then mmu_page_add_parent_pte().
    /// </summary>
    private Co LinkShadowPage(ulong sptep, ulong sp)
    {
        yield return null;
        ulong old = _mem.Read(sptep);
        if (Spte.IsShadowPresent(old))
            throw Invariant.ParentPointers.Violation("__link_shadow_page", $"linking 0x{sp:x} over present SPTE 0x{sptep:x}: {Spte.Describe(old)}", Dump());
        _mem.Write(sptep, MakeNonleafSpte(sp));
        _check.OnNonleafSpteWrite(sptep, sp);
        yield return Call(PteListAdd(sptep, SpField(sp, ShadowPage.ParentPtes)));
    }

    /// <summary>
    /// kvm_mmu_load() → mmu_alloc_direct_roots() for the translation the fault runs on, folded into
    /// the fault's mmu_lock section: a vCPU whose root is of another alias or obsolete drops it
    /// (kvm_mmu_free_roots → mmu_free_root_page, which zaps an invalid root its last user drops),
    /// then make_mmu_pages_available() and mmu_alloc_root(). Ret = the root, or 0 for -ENOSPC.
    /// Starts in the caller's step.
    /// </summary>
    private Co KvmMmuLoad(Vcpu vcpu, int alias)
    {
        var self = Self;
        ulong rootAddr = VcpuRootAddr(vcpu.Id);
        ulong root = _mem.Read(rootAddr);                      // in the caller's step, which took mmu_lock
        if (root != 0)
        {
            bool obsolete = IsObsoleteSp(root);
            if (!obsolete && SpRole.Alias(_mem.ReadConst(SpField(root, ShadowPage.Role))) == alias) { self.Ret = root; yield break; }
            yield return Call(MmuFreeRootPage(rootAddr, root));
        }
        yield return Call(MakeMmuPagesAvailable());
        if (self.Ret != 0) { self.Ret = 0; yield break; }
        yield return Call(KvmMmuGetShadowPage(0, SpRole.Make(RootLevel, alias), link: false));
        root = self.Ret;
        yield return null;
        _mem.FetchAdd(SpField(root, ShadowPage.RootCount), 1);
        _mem.Write(rootAddr, root);
        _check.OnVcpuRootChanged(root);
        self.Ret = root;
    }

    /// <summary>mmu_free_root_page() + the commit of kvm_mmu_free_roots(): the last user of an invalid root zaps it.</summary>
    private Co MmuFreeRootPage(ulong rootAddr, ulong root)
    {
        var self = Self;
        var invalidList = new List<ulong>();
        yield return null;
        ulong count = _mem.FetchAdd(SpField(root, ShadowPage.RootCount), -1) - 1;
        _mem.Write(rootAddr, 0);
        _check.OnVcpuRootChanged(root);
        if (count == 0 && SpRole.IsInvalid(_mem.Read(SpField(root, ShadowPage.Role))))
            yield return Call(KvmMmuPrepareZapPage(root, invalidList));
        yield return Call(KvmMmuCommitZapPage(invalidList));
    }

    /// <summary>
    /// direct_map(), for the model's two levels: from the vCPU's root, link a level-1 page under a
    /// non-present root SPTE (kvm_mmu_get_child_sp + link_shadow_page), and return the leaf's SPTE
    /// pointer in Ret. Starts in the caller's step.
    /// </summary>
    private Co DirectMapWalk(ulong root, KvmPageFault fault)
    {
        var self = Self;
        ulong sptep = SpSpte(root, RootIndex(fault.Gfn));
        ulong spte = _mem.Read(sptep);                          // non-leaf SPTEs change only under mmu_lock: the caller's step
        ulong child;
        if (Spte.IsShadowPresent(spte)) child = SpteToChildSp(spte);
        else
        {
            yield return Call(KvmMmuGetShadowPage(SpBaseGfn(fault.Gfn, 1), SpRole.Make(1, fault.Alias), link: true));
            child = self.Ret;
            yield return Call(LinkShadowPage(sptep, child));
        }
        self.Ret = SpSpte(child, SpteIndex(fault.Gfn, 1));
    }

    /// <summary>The root SPTE index of a gfn: the model's gfns all lie below 1G, so SPTE_INDEX at level 2.</summary>
    private static int RootIndex(ulong gfn) => SpteIndex(gfn, RootLevel);

    /// <summary>
    /// for_each_shadow_entry_lockless() down to the last level, as the hardware and fast_page_fault()
    /// walk: the vCPU's root, if it is of this alias and not obsolete, its SPTE for the gfn, the child's
    /// leaf SPTE. One step (the caller's). Returns the leaf SPTE pointer, or 0.
    /// </summary>
    private ulong WalkToLeafSptep(Vcpu vcpu, int alias, ulong gfn)
    {
        ulong root = _mem.Read(VcpuRootAddr(vcpu.Id));
        if (root == 0) return 0;
        ulong role = _mem.Read(SpField(root, ShadowPage.Role));
        if (SpRole.IsInvalid(role) || SpRole.Alias(role) != alias || _mem.Read(SpField(root, ShadowPage.MmuValidGen)) != _mem.Read(MmuValidGenAddr)) return 0;
        ulong spte = _mem.Read(SpSpte(root, RootIndex(gfn)));
        if (!Spte.IsShadowPresent(spte)) return 0;
        return SpSpte(SpteToChildSp(spte), SpteIndex(gfn, 1));
    }
}
