namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>A zap of a range that may block must yield mmu_lock at least this often when contended.</summary>
    public const int YieldBoundSteps = 400;

    /// <summary>
    /// __walk_slot_rmaps(): applies <paramref name="fn"/> to every rmap of the gfn range at each
    /// level; when yielding is allowed and mmu_lock is contended or a reschedule is due, flushes
    /// first if asked to (flush_on_yield) and drops the lock. Ret = pending flush.
    /// </summary>
    private Co WalkSlotRmaps(ulong slot, Func<ulong, Co> fn, ulong startGfn, ulong endGfn, bool canYield, bool flushOnYield, bool flush)
    {
        var self = Self;
        for (int level = 1; level <= Levels; level++)
        {
            ulong first = GfnToRmap(slot, startGfn, level), last = GfnToRmap(slot, endGfn, level);
            for (ulong head = first; head <= last; head += 8)
            {
                // One rmap is processed whole, however long it is; the bound applies between rmaps.
                _check.OnZapStep();
                yield return Call(fn(head));
                flush |= self.Ret != 0;
                if (!canYield) continue;
                if (NeedResched || _mmuLock.Contended)
                {
                    if (flush && flushOnYield && !_bugs.Has(Bugs.YieldNoFlush))
                    {
                        yield return Call(KvmFlushRemoteTlbs());
                        flush = false;
                    }
                    yield return Call(CondReschedRwlockWrite());
                }
            }
        }
        self.Ret = flush ? 1UL : 0;
    }
}
