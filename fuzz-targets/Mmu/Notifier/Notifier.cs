namespace Fuzz.Targets.Mmu;

/// <summary>What kvm_handle_hva_range() does on each memslot it finds (struct kvm_mmu_notifier_range).</summary>
internal enum HvaHandler { Unmap, InvalidateEnd, ClearYoung, TestYoung, ChangePte }

public sealed partial class Kvm
{
    /// <summary>kvm_mmu_notifier_invalidate_range_start().</summary>
    internal Co InvalidateRangeStart(ulong hvaStart, ulong hvaEnd)
    {
        // Prevent memslot modification between range_start() and range_end(); pairs with range_end().
        yield return null;
        _mem.FetchAdd(MnActiveAddr, 1);
        if (Tracing) _m.Log($"invalidate_range_start hva [0x{hvaStart:x}, 0x{hvaEnd:x})");
        yield return Call(KvmHandleHvaRange(hvaStart, hvaEnd, HvaHandler.Unmap));
        _check.OnInvalidateRangeStartReturned(hvaStart, hvaEnd);
    }

    /// <summary>kvm_mmu_notifier_invalidate_range_end().</summary>
    internal Co InvalidateRangeEnd(ulong hvaStart, ulong hvaEnd)
    {
        yield return Call(KvmHandleHvaRange(hvaStart, hvaEnd, HvaHandler.InvalidateEnd));
        yield return null;
        ulong before = _mem.FetchAdd(MnActiveAddr, -1);
        if (before == 0)
            throw Invariant.InvalidationCounters.Violation("kvm_mmu_notifier_invalidate_range_end", "mn_active_invalidate_count underflow", Dump());
        if (Tracing) _m.Log($"invalidate_range_end hva [0x{hvaStart:x}, 0x{hvaEnd:x})");
    }

    /// <summary>
    /// __kvm_handle_hva_range(): under SRCU, for each memslot overlapping the hva range, take
    /// mmu_lock on the first one found (unless lockless), run on_lock, then the handler. Ret = handler result.
    /// <paramref name="pte"/> is the new host PTE .change_pte delivers (range->arg.pte).
    /// </summary>
    private Co KvmHandleHvaRange(ulong hvaStart, ulong hvaEnd, HvaHandler handler, ulong pte = 0)
    {
        var self = Self;
        bool lockless = handler is HvaHandler.ClearYoung or HvaHandler.TestYoung;   // CONFIG_KVM_MMU_LOCKLESS_AGING
        yield return null;
        int idx = SrcuReadLock();
        yield return null;
        ulong slots = CurrentMemslots;
        bool found = false, ret = false;
        foreach (var (_, slot) in ForEachMemslot(slots))
        {
            ulong uaddr = _mem.ReadConst(slot + SUserspaceAddr * 8), npages = _mem.ReadConst(slot + SNpages * 8);
            ulong hs = Math.Max(hvaStart, uaddr), he = Math.Min(hvaEnd, uaddr + npages);
            if (hs >= he) continue;
            ulong baseGfn = _mem.ReadConst(slot + SBaseGfn * 8);
            ulong gfnStart = baseGfn + (hs - uaddr), gfnEnd = baseGfn + (he - uaddr);
            if (!found)
            {
                found = true;
                if (!lockless)
                {
                    yield return null;
                    while (!TryWriteLockMmu()) yield return null;
                    if (handler == HvaHandler.Unmap)
                    {
                        yield return null;
                        KvmMmuInvalidateBegin();
                    }
                    if (handler == HvaHandler.InvalidateEnd) { yield return Call(KvmMmuInvalidateEnd()); break; }
                }
            }
            switch (handler)
            {
                case HvaHandler.Unmap:
                    yield return null;
                    KvmMmuInvalidateRangeAdd(gfnStart, gfnEnd);
                    yield return Call(KvmUnmapGfnRange(slot, gfnStart, gfnEnd, mayBlock: true));
                    break;
                case HvaHandler.ClearYoung:
                    yield return Call(KvmRmapAgeGfnRange(slot, gfnStart, gfnEnd, testOnly: false));
                    break;
                case HvaHandler.TestYoung:
                    yield return Call(KvmRmapAgeGfnRange(slot, gfnStart, gfnEnd, testOnly: true));
                    break;
                case HvaHandler.ChangePte:
                    yield return Call(KvmSetSpteGfn(slot, gfnStart, gfnEnd, HostPte.Pfn(pte)));
                    break;
            }
            ret |= self.Ret != 0;
        }
        if (handler is HvaHandler.Unmap or HvaHandler.ChangePte && ret)   // range->flush_on_ret
            yield return Call(KvmFlushRemoteTlbs());
        if (found && !lockless)
        {
            yield return null;
            WriteUnlockMmu();
        }
        yield return null;
        SrcuReadUnlock(idx);
        self.Ret = ret ? 1UL : 0;
    }

    /// <summary>kvm_mmu_invalidate_begin(): with mmu_lock held for write; the caller has passed a scheduling point.</summary>
    private void KvmMmuInvalidateBegin()
    {
        ulong n = _mem.Read(InProgressAddr) + 1;
        _mem.Write(InProgressAddr, n);
        if (n == 1)
        {
            _mem.Write(RangeStartAddr, InvalidGpa);
            _mem.Write(RangeEndAddr, InvalidGpa);
        }
        _m.Event(MmuEvent.InvalidateBegin, n);
    }

    /// <summary>kvm_mmu_invalidate_range_add(); the caller has passed a scheduling point.</summary>
    private void KvmMmuInvalidateRangeAdd(ulong start, ulong end)
    {
        if (_mem.Read(InProgressAddr) == 0)
            throw Invariant.InvalidationCounters.Violation("kvm_mmu_invalidate_range_add", "range added with no invalidation in progress", Dump());
        ulong s = _mem.Read(RangeStartAddr), e = _mem.Read(RangeEndAddr);
        if (s == InvalidGpa)
        {
            _mem.Write(RangeStartAddr, start);
            _mem.Write(RangeEndAddr, end);
        }
        else
        {
            _mem.Write(RangeStartAddr, Math.Min(s, start));
            _mem.Write(RangeEndAddr, Math.Max(e, end));
        }
        _check.OnInvalidateRangeAdded(start, end);
    }

    /// <summary>kvm_mmu_invalidate_end(): bump the sequence, then drop in-progress (smp_wmb between).</summary>
    private Co KvmMmuInvalidateEnd()
    {
        yield return null;
        ulong n = _mem.Read(InProgressAddr);
        if (n == 0)
            throw Invariant.InvalidationCounters.Violation("kvm_mmu_invalidate_end", "mmu_invalidate_in_progress would go negative", Dump());
        if (_mem.Read(RangeStartAddr) == InvalidGpa)
            throw Invariant.InvalidationCounters.Violation("kvm_mmu_invalidate_end", "invalidation ended with no range added", Dump());
        _mem.FetchAdd(SeqAddr, 1);
        yield return null;
        _mem.Write(InProgressAddr, n - 1);
        _m.Event(MmuEvent.InvalidateEnd, n - 1);
    }
}
