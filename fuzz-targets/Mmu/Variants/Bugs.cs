namespace Fuzz.Targets.Mmu;

/// <summary>The seeded variants; the model asks <c>bugs.Has(Bugs.StaleFault)</c> at the spot each one changes.</summary>
public static class Bugs
{
    public static readonly BugVariant StaleFault = new("stale-fault",
        "virt/kvm/kvm_main.c retry protocol (mmu_invalidate_retry_gfn)",
        "the fault path does not re-check mmu_invalidate_seq / the in-progress range under mmu_lock",
        Invariant.NoStaleInstall) { Index = 0 };

    public static readonly BugVariant RoUnlockEmpty = new("ro-unlock-empty",
        "seed 001, James Houghton on patch 19 (kvm_rmap_unlock_readonly)",
        "read-only unlock writes the saved value back even when the lock was elided on an empty rmap, erasing a concurrent add",
        Invariant.RmapLock) { Index = 1 };

    public static readonly BugVariant LockedWalkerLockless = new("locked-walker-lockless",
        "seed 001 cover letter (the BUG_ON(!is_shadow_present_pte()) hit)",
        "lockless aging walks with the locked walker, which asserts every SPTE is present",
        Invariant.RmapContents) { Index = 2 };

    public static readonly BugVariant TestAgeLeak = new("test-age-leak",
        "seed 001 patch 21 (kvm_rmap_age_gfn_range_lockless, test_only)",
        "test-only aging returns \"young\" without releasing the rmap lock",
        Invariant.Liveness) { Index = 3 };

    public static readonly BugVariant YieldNoFlush = new("yield-no-flush",
        "seed 001 patches 11-13 / seed 002 (__walk_slot_rmaps flush_on_yield)",
        "the rmap zap loop yields mmu_lock without flushing remote TLBs first",
        Invariant.FlushBeforeYield) { Index = 4 };

    public static readonly BugVariant LocklessRereadEmpty = new("lockless-reread-empty",
        "seed 001 patches 19-21 as posted (kvm_rmap_age_gfn_range_lockless + for_each_rmap_spte_lockless); found by `fuzz run` on that code",
        "after kvm_rmap_lock_readonly() elided the lock on an empty rmap, the lockless walker re-reads the head (rmap_get_first); a fault can fill the rmap meanwhile and a zap free its pte_list_desc while the walker, holding no lock, reads it",
        Invariant.SafeFree) { Index = 5 };

    public static readonly BugVariant ChangePte = new("change-pte",
        "seed 000, Sean Christopherson on patch 10 (.change_pte); commit 828502d30073 \"ksm: add mmu_notifier set_pte_at_notify()\", before 6bdb913f0a70",
        "replace_page() delivers the new PTE through .change_pte: kvm_set_spte_gfn() rewrites present SPTEs to the new pfn under mmu_lock, outside any invalidation bracket and without bumping mmu_invalidate_seq",
        Invariant.NoStaleInstall) { Index = 6 };

    public static readonly BugVariant FastPfDirtyBeforeCmpxchg = new("fast-pf-dirty-before-cmpxchg",
        "arch/x86/kvm/mmu/mmu.c fast_pf_fix_direct_spte(): mark_page_dirty_in_slot() only after a successful try_cmpxchg64()",
        "fast_page_fault() marks the gfn dirty before its cmpxchg restores W: KVM_GET_DIRTY_LOG can harvest the bit and skip the still read-only SPTE in between, and the guest's writes through the restored W are never logged",
        Invariant.DirtyLogging) { Index = 7 };

    public static readonly BugVariant DirectSkipHash = new("direct-skip-hash",
        "seed 003, Sean Christopherson on \"kvm: x86 mmu: avoid mmu_page_hash lookup for direct_map-only VM\" (zap-oldest leaves a dangling child)",
        "linking a new direct shadow page under a non-present SPTE skips the mmu_page_hash lookup and allocates a fresh page: after zap-oldest zapped a parent, its still-hashed child is not relinked, a duplicate of (gfn, role) appears and the old child is orphaned",
        Invariant.HashUniqueness) { Index = 8 };

    public static readonly BugVariant MmioInFlux = new("mmio-in-flux",
        "seed 002, Sean Christopherson, \"KVM: x86/mmu: Do not cache MMIO accesses while memslots are in flux\" (vcpu_cache_mmio_info)",
        "vcpu_cache_mmio_info() caches an MMIO access while a memslot update is in progress: the cached generation carries the in-progress bit, so it matches kvm_memslots()->generation until the update ends, and the vCPU emulates as MMIO a gfn the new memslots may map",
        Invariant.MmioCurrency) { Index = 9 };

    /// <summary>In the order `fuzz targets` lists them; a variant's position is its <see cref="BugVariant.Index"/>.</summary>
    public static readonly IReadOnlyList<BugVariant> All = [StaleFault, RoUnlockEmpty, LockedWalkerLockless, TestAgeLeak, YieldNoFlush, LocklessRereadEmpty, ChangePte, FastPfDirtyBeforeCmpxchg, DirectSkipHash, MmioInFlux];

    public static BugVariant? Find(string id) => All.FirstOrDefault(b => b.Id == id);
}
