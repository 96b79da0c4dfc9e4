namespace Fuzz.Targets.Mmu;

/// <summary>What the model reports to <c>Machine.Event</c>: lock hand-offs, retries and protocol states.</summary>
/// <remarks>The values follow the engine's <see cref="Fuzz.Engine.Locks.LockEvent"/> in one event hash; they are part of every input's features.</remarks>
public enum MmuEvent : uint
{
    /// <summary>cond_resched_rwlock_write() dropped mmu_lock.</summary>
    CondReschedDrop = 2,

    /// <summary>kvm_flush_remote_tlbs().</summary>
    RemoteTlbFlush = 3,

    /// <summary>A task spins on an rmap another holds locked (the rmap head).</summary>
    RmapLockContended = 4,

    /// <summary>The fault is stale under mmu_lock and retries (the gfn).</summary>
    StaleFaultRetry = 5,

    /// <summary>kvm_mmu_invalidate_begin() (mmu_invalidate_in_progress after it).</summary>
    InvalidateBegin = 6,

    /// <summary>kvm_mmu_invalidate_end() (mmu_invalidate_in_progress after it).</summary>
    InvalidateEnd = 7,

    /// <summary>The memslots pointer was swapped to a new copy.</summary>
    MemslotsSwap = 8,

    /// <summary>A fault took its mmu_invalidate_seq snapshot while an invalidation was in progress (the gfn).</summary>
    FaultSnapshotInInvalidation = 9,

    /// <summary>pte_list_add() prepended a new head descriptor to a full one (the descriptors in the chain after it).</summary>
    PteListDescPrepended = 32,

    /// <summary>fast_page_fault() fixed an SPTE with its cmpxchg, outside mmu_lock (the gfn).</summary>
    FastPageFaultFixed = 33,

    /// <summary>fast_page_fault()'s cmpxchg lost a race with another SPTE writer (the gfn).</summary>
    FastPageFaultRace = 34,

    /// <summary>Aging's cmpxchg64 to access-track an SPTE lost a race, and the SPTE stays young (the gfn).</summary>
    AgingCmpxchgFailed = 35,

    /// <summary>kvm_mmu_alloc_shadow_page() made a page (its level).</summary>
    ShadowPageAllocated = 36,

    /// <summary>kvm_mmu_prepare_zap_page() zapped a page (its level).</summary>
    ShadowPageZapped = 37,

    /// <summary>kvm_mmu_zap_oldest_mmu_pages() recycled pages (how many).</summary>
    MmuPagesRecycled = 38,

    /// <summary>drop_parent_pte() left a page with no parent, still hashed (its gfn).</summary>
    ShadowPageOrphaned = 39,

    /// <summary>mark_mmio_spte() installed an MMIO SPTE for a gfn no memslot maps (the gfn).</summary>
    MmioSpteCreated = 40,

    /// <summary>check_mmio_spte() refused an MMIO SPTE: its generation is old or an update is in progress (the gfn).</summary>
    MmioSpteStale = 41,

    /// <summary>handle_mmio_page_fault() emulated from the vCPU's cached MMIO info (the gfn).</summary>
    MmioInfoCacheHit = 42,

    /// <summary>kvm_mmu_invalidate_mmio_sptes() saw the MMIO generation wrap and zapped all.</summary>
    MmioGenerationWrap = 43,
}
