namespace Fuzz.Targets.Mmu;

/// <summary>
/// The flushes SPTE changes owe: a zapped SPTE or a cleared MMU-writable bit must be flushed from
/// the remote TLBs before mmu_lock is released (invariants 8, 11) or dropped to yield (invariant 12).
/// </summary>
internal sealed partial class Checker
{
    private bool _pendingZapFlush, _pendingMmuWritableFlush;

    public void OnFlush()
    {
        _pendingZapFlush = false;
        _pendingMmuWritableFlush = false;
        _flushes++;
    }

    public void OnMmuWriteLocked() => CheckRmaps("mmu_lock acquired");

    public void OnMmuWriteUnlocking()
    {
        if (_pendingMmuWritableFlush)
            throw Fail(Invariant.WritableBits, "write_unlock(mmu_lock)", "MMU-writable was cleared and mmu_lock released before the remote TLB flush");
        if (_pendingZapFlush)
            throw Fail(Invariant.InvalidationCompleteness, "write_unlock(mmu_lock)", "SPTEs were zapped and mmu_lock released before the remote TLB flush");
        CheckRmaps("mmu_lock released");
        CheckShadowPages("mmu_lock released");
    }

    public void OnMmuYield()
    {
        if (_pendingZapFlush || _pendingMmuWritableFlush)
            throw Fail(Invariant.FlushBeforeYield, "cond_resched_rwlock_write", "mmu_lock dropped to yield with zapped SPTEs not yet flushed from remote TLBs");
        CheckRmaps("mmu_lock dropped to yield");
    }

    private void CheckFlushed()
    {
        if (_pendingZapFlush || _pendingMmuWritableFlush)
            throw Fail(Invariant.InvalidationCompleteness, "quiescent", "SPTE changes were never flushed from the TLBs");
    }
}
