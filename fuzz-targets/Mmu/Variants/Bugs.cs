namespace Fuzz.Targets.Mmu;

/// <summary>A seeded defect: a one-spot change from the kernel's code, switched on by name.</summary>
public sealed record BugVariant(string Id, string Source, string Defect, int Invariant);

public static class Bugs
{
    public const string StaleFault = "stale-fault";
    public const string RoUnlockEmpty = "ro-unlock-empty";
    public const string LockedWalkerLockless = "locked-walker-lockless";
    public const string TestAgeLeak = "test-age-leak";
    public const string YieldNoFlush = "yield-no-flush";
    public const string LocklessRereadEmpty = "lockless-reread-empty";

    public static readonly IReadOnlyList<BugVariant> All =
    [
        new(StaleFault, "virt/kvm/kvm_main.c retry protocol (mmu_invalidate_retry_gfn)",
            "the fault path does not re-check mmu_invalidate_seq / the in-progress range under mmu_lock", 10),
        new(RoUnlockEmpty, "seed 001, James Houghton on patch 19 (kvm_rmap_unlock_readonly)",
            "read-only unlock writes the saved value back even when the lock was elided on an empty rmap, erasing a concurrent add", 4),
        new(LockedWalkerLockless, "seed 001 cover letter (the BUG_ON(!is_shadow_present_pte()) hit)",
            "lockless aging walks with the locked walker, which asserts every SPTE is present", 2),
        new(TestAgeLeak, "seed 001 patch 21 (kvm_rmap_age_gfn_range_lockless, test_only)",
            "test-only aging returns \"young\" without releasing the rmap lock", 18),
        new(YieldNoFlush, "seed 001 patches 11-13 / seed 002 (__walk_slot_rmaps flush_on_yield)",
            "the rmap zap loop yields mmu_lock without flushing remote TLBs first", 12),
        new(LocklessRereadEmpty, "seed 001 patches 19-21 as posted (kvm_rmap_age_gfn_range_lockless + for_each_rmap_spte_lockless); found by `fuzz run` on that code",
            "after kvm_rmap_lock_readonly() elided the lock on an empty rmap, the lockless walker re-reads the head (rmap_get_first); a fault can fill the rmap meanwhile and a zap free its pte_list_desc while the walker, holding no lock, reads it", 7),
    ];

    public static BugVariant? Find(string id) => All.FirstOrDefault(b => b.Id == id);
}

/// <summary>Which variants are on for a run.</summary>
public sealed class BugSet
{
    private readonly HashSet<string> _on;

    public BugSet(IEnumerable<string> ids)
    {
        _on = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            if (Bugs.Find(id) is null) throw new ArgumentException($"unknown bug variant '{id}' (see `fuzz targets`)");
            _on.Add(id);
        }
        StaleFault = _on.Contains(Bugs.StaleFault);
        RoUnlockEmpty = _on.Contains(Bugs.RoUnlockEmpty);
        LockedWalkerLockless = _on.Contains(Bugs.LockedWalkerLockless);
        TestAgeLeak = _on.Contains(Bugs.TestAgeLeak);
        YieldNoFlush = _on.Contains(Bugs.YieldNoFlush);
        LocklessRereadEmpty = _on.Contains(Bugs.LocklessRereadEmpty);
    }

    public static readonly BugSet None = new([]);

    public bool StaleFault { get; }
    public bool RoUnlockEmpty { get; }
    public bool LockedWalkerLockless { get; }
    public bool TestAgeLeak { get; }
    public bool YieldNoFlush { get; }
    public bool LocklessRereadEmpty { get; }
    public IEnumerable<string> Ids => _on.Order(StringComparer.Ordinal);
}
