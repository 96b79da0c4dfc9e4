namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    public const int KvmMinFreeMmuPages = 5;           // KVM_MIN_FREE_MMU_PAGES
    public const int KvmRefillPages = 25;              // KVM_REFILL_PAGES
    public const int BatchZapPages = 10;               // BATCH_ZAP_PAGES

    /// <summary>
    /// kvm_mmu_prepare_zap_page() → __kvm_mmu_prepare_zap_page(), under mmu_lock for write: zap the
    /// children's SPTEs (kvm_mmu_page_unlink_children → mmu_page_zap_pte: drop_spte for leaves,
    /// drop_parent_pte for non-leaf SPTEs, mmu_spte_clear_no_track for MMIO SPTEs), unlink the parents, then either move the page to
    /// <paramref name="invalidList"/> or, for a root still in use, take it off active_mmu_pages to be
    /// freed when its root_count drops to 0; mark it invalid. Ret = pages zapped (itself if listed).
    /// </summary>
    internal Co KvmMmuPrepareZapPage(ulong sp, List<ulong> invalidList)
    {
        var self = Self;
        ulong role = _mem.ReadConst(SpField(sp, ShadowPage.Role));
        int level = SpRole.Level(role);
        for (int i = 0; i < ShadowPage.Populated(level); i++)
        {
            // A non-present SPTE becomes present only under mmu_lock: one step reads up to the next present one.
            yield return null;
            ulong spte = _mem.Read(SpSpte(sp, i));
            while (!Spte.IsShadowPresent(spte) && !MmioSpte.IsMmio(spte) && i + 1 < ShadowPage.Populated(level)) spte = _mem.Read(SpSpte(sp, ++i));
            ulong sptep = SpSpte(sp, i);
            if (MmioSpte.IsMmio(spte)) { MmuSpteClearNoTrack(sptep); continue; }
            if (!Spte.IsShadowPresent(spte)) continue;
            if (IsLastSpte(level)) yield return Call(DropSpte(sptep));
            else yield return Call(DropParentPte(SpteToChildSp(spte), sptep));
        }
        yield return Call(KvmMmuUnlinkParents(sp));
        ulong zapped = 0;
        yield return null;
        bool wasInvalid = SpRole.IsInvalid(_mem.Read(SpField(sp, ShadowPage.Role)));
        yield return null;
        if (_mem.Read(SpField(sp, ShadowPage.RootCount)) == 0)
        {
            zapped = 1;
            if (!wasInvalid) yield return Call(ActiveListDel(sp));   // list_move(&sp->link, invalid_list)
            invalidList.Add(sp);
            yield return null;
            _mem.FetchAdd(UsedPagesAddr, -1);                      // kvm_unaccount_mmu_page()
        }
        else if (!wasInvalid)
        {
            yield return Call(ActiveListDel(sp));                    // freed when root_count hits zero
        }
        yield return null;
        _mem.Write(SpField(sp, ShadowPage.Role), _mem.Read(SpField(sp, ShadowPage.Role)) | SpRole.Invalid);
        _check.OnShadowPageZapped(sp);
        _m.Event(MmuEvent.ShadowPageZapped, (ulong)level);
        if (Tracing) _m.Log($"kvm_mmu_prepare_zap_page 0x{sp:x} ({Labels.ShadowPageLabel(level, SpRole.Alias(role), _mem.ReadConst(SpField(sp, ShadowPage.Gfn)))})");
        self.Ret = zapped;
    }

    /// <summary>list_del(&amp;sp->link) from active_mmu_pages.</summary>
    private Co ActiveListDel(ulong sp)
    {
        yield return null;
        ulong prev = _mem.Read(SpField(sp, ShadowPage.LinkPrev)), next = _mem.Read(SpField(sp, ShadowPage.LinkNext));
        yield return null;
        if (prev != 0) _mem.Write(SpField(prev, ShadowPage.LinkNext), next);
        else _mem.Write(ActiveHeadAddr, next);
        if (next != 0) _mem.Write(SpField(next, ShadowPage.LinkPrev), prev);
        else _mem.Write(ActiveTailAddr, prev);
        _mem.Write(SpField(sp, ShadowPage.LinkPrev), 0);
        _mem.Write(SpField(sp, ShadowPage.LinkNext), 0);
    }

    /// <summary>drop_parent_pte(): mmu_page_remove_parent_pte() (pte_list_remove from the child's parent_ptes), then mmu_spte_clear_no_track().</summary>
    private Co DropParentPte(ulong child, ulong parentSptep)
    {
        ulong head = SpField(child, ShadowPage.ParentPtes);
        yield return Call(PteListRemove(parentSptep, head));
        yield return null;
        _mem.Write(parentSptep, 0);
        _check.OnNonleafSpteWrite(parentSptep, child);
        yield return null;
        if (_mem.Read(head) == 0)
        {
            _m.Event(MmuEvent.ShadowPageOrphaned, _mem.ReadConst(SpField(child, ShadowPage.Gfn)));
            if (Tracing) _m.Log($"shadow page 0x{child:x} has no parent left");
        }
    }

    /// <summary>kvm_mmu_unlink_parents(): drop_parent_pte() for each SPTE that points at the page, first entry first (rmap_get_first).</summary>
    private Co KvmMmuUnlinkParents(ulong sp)
    {
        ulong head = SpField(sp, ShadowPage.ParentPtes);
        while (true)
        {
            yield return null;
            ulong val = _mem.Read(head);
            if (val == 0) yield break;
            ulong sptep = val;
            if ((val & KvmRmapMany) != 0)
            {
                yield return null;
                sptep = _mem.Read(DescSpte(val & ~KvmRmapMany, 0));
            }
            yield return Call(DropParentPte(sp, sptep));
        }
    }

    /// <summary>
    /// kvm_mmu_commit_zap_page(): kvm_flush_remote_tlbs(), which also waits for every lockless
    /// walker, then kvm_mmu_free_shadow_page() for each page on the list.
    /// </summary>
    internal Co KvmMmuCommitZapPage(List<ulong> invalidList)
    {
        if (invalidList.Count == 0) yield break;
        yield return Call(KvmFlushRemoteTlbs());
        foreach (ulong sp in invalidList) yield return Call(KvmMmuFreeShadowPage(sp));
        invalidList.Clear();
    }

    /// <summary>kvm_mmu_free_shadow_page(): hlist_del(&amp;sp->hash_link), then the page goes back to the allocator (kvm_mmu_check_sptes_at_free first).</summary>
    private Co KvmMmuFreeShadowPage(ulong sp)
    {
        ulong bucket = HashBucketAddr(KvmPageTableHashfn(_mem.ReadConst(SpField(sp, ShadowPage.Gfn))));
        ulong link = bucket;
        while (true)
        {
            yield return null;
            ulong cur = _mem.Read(link);
            if (cur == 0)
                throw Invariant.HashUniqueness.Violation("kvm_mmu_free_shadow_page", $"page 0x{sp:x} is not in its hash bucket", Dump());
            if (cur == sp) break;
            link = SpField(cur, ShadowPage.HashNext);
        }
        yield return null;
        _mem.Write(link, _mem.Read(SpField(sp, ShadowPage.HashNext)));
        yield return null;
        _check.OnShadowPageFreeing(sp);
        _mem.Free(sp);
    }

    /// <summary>
    /// kvm_mmu_zap_oldest_mmu_pages(): from the tail of active_mmu_pages (the oldest), zap pages that
    /// are not roots in use until <paramref name="nrToZap"/> are zapped, then commit. Ret = zapped.
    /// </summary>
    internal Co KvmMmuZapOldestMmuPages(ulong nrToZap)
    {
        var self = Self;
        var invalidList = new List<ulong>();
        ulong total = 0;
        yield return null;
        ulong sp = _mem.Read(ActiveTailAddr);
        while (sp != 0)
        {
            yield return null;
            ulong prev = _mem.Read(SpField(sp, ShadowPage.LinkPrev));
            yield return null;
            if (_mem.Read(SpField(sp, ShadowPage.RootCount)) != 0) { sp = prev; continue; }
            yield return Call(KvmMmuPrepareZapPage(sp, invalidList));
            total += self.Ret;
            if (total >= nrToZap) break;
            sp = prev;
        }
        yield return Call(KvmMmuCommitZapPage(invalidList));
        if (total > 0)
        {
            _m.Event(MmuEvent.MmuPagesRecycled, total);
            if (Tracing) _m.Log($"kvm_mmu_zap_oldest_mmu_pages: {total} recycled");
        }
        self.Ret = total;
    }

    /// <summary>
    /// make_mmu_pages_available(): below KVM_MIN_FREE_MMU_PAGES free, zap the oldest pages up to
    /// KVM_REFILL_PAGES. Ret = 0, or 1 for -ENOSPC when nothing could be freed. Starts in the
    /// caller's step (the counters change only under mmu_lock).
    /// </summary>
    private Co MakeMmuPagesAvailable()
    {
        var self = Self;
        ulong avail = KvmMmuAvailablePages();
        if (avail >= KvmMinFreeMmuPages) { self.Ret = 0; yield break; }
        yield return Call(KvmMmuZapOldestMmuPages(KvmRefillPages - avail));
        yield return null;
        self.Ret = KvmMmuAvailablePages() == 0 ? 1UL : 0;
    }

    /// <summary>kvm_mmu_available_pages(). One step.</summary>
    private ulong KvmMmuAvailablePages()
    {
        ulong max = _mem.Read(MaxPagesAddr), used = _mem.Read(UsedPagesAddr);
        return max > used ? max - used : 0;
    }

    /// <summary>mmu_shrink_scan() on this VM: kvm_mmu_zap_oldest_mmu_pages(nr_to_scan) under mmu_lock.</summary>
    internal Co MmuShrinkScan(int nrToScan)
    {
        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        yield return Call(KvmMmuZapOldestMmuPages((ulong)nrToScan));
        yield return null;
        WriteUnlockMmu();
    }

    /// <summary>
    /// kvm_mmu_zap_all_fast(), the caller holding slots_lock: under mmu_lock, toggle mmu_valid_gen,
    /// kick every vCPU to drop its now obsolete root (kvm_make_all_cpus_request(KVM_REQ_MMU_FREE_OBSOLETE_ROOTS):
    /// the kick waits for the vCPUs like a flush, and what they cached through the old roots goes
    /// with them), then kvm_zap_obsolete_pages().
    /// </summary>
    public Co KvmMmuZapAllFast()
    {
        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        yield return null;
        _mem.Write(MmuValidGenAddr, _mem.Read(MmuValidGenAddr) == 0 ? 1UL : 0);
        _check.OnShadowMmuChanged();
        if (Tracing) _m.Log($"kvm_mmu_zap_all_fast: mmu_valid_gen -> {_mem.Peek(MmuValidGenAddr)}");
        yield return Call(KvmFlushRemoteTlbs());
        yield return Call(KvmZapObsoletePages());
        yield return null;
        WriteUnlockMmu();
    }

    /// <summary>
    /// kvm_zap_obsolete_pages(): from the oldest page, zap obsolete pages until the first valid one
    /// (active_mmu_pages is a FIFO); every BATCH_ZAP_PAGES it may yield mmu_lock and restart (no flush
    /// needed: no vCPU can use an obsolete page); the flush before the free comes with the commit.
    /// </summary>
    private Co KvmZapObsoletePages()
    {
        var self = Self;
        var invalidList = new List<ulong>();
        ulong batch = 0;
    restart:
        yield return null;
        ulong sp = _mem.Read(ActiveTailAddr);
        while (sp != 0)
        {
            yield return null;
            ulong prev = _mem.Read(SpField(sp, ShadowPage.LinkPrev));
            yield return null;
            if (!IsObsoleteSp(sp)) break;
            if (batch >= BatchZapPages && (NeedResched || _mmuLock.Contended))
            {
                yield return Call(CondReschedRwlockWrite());
                batch = 0;
                goto restart;
            }
            yield return Call(KvmMmuPrepareZapPage(sp, invalidList));
            batch += self.Ret;
            sp = prev;
        }
        yield return Call(KvmMmuCommitZapPage(invalidList));
    }

    /// <summary>The zap_all_fast operation: slots_lock, then kvm_mmu_zap_all_fast().</summary>
    internal Co ZapAllFast()
    {
        yield return null;
        while (!TrySlotsLock()) yield return null;
        yield return Call(KvmMmuZapAllFast());
        yield return null;
        SlotsUnlock();
    }
}
