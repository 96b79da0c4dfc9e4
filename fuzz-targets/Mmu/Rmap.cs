namespace Fuzz.Targets.Mmu;

/// <summary>struct pte_list_desc in simulated memory.</summary>
internal static class PteListDesc
{
    public const int More = 0, SpteCount = 1, TailCount = 2, Sptes = 3;
    public const int PteListExt = 14;                 // PTE_LIST_EXT
    public const int Words = Sptes + PteListExt;
}

/// <summary>
/// Where a __kvm_rmap_lock() spin is: kvm_rmap_lock() for writers with mmu_lock held for write,
/// kvm_rmap_lock_readonly() for lockless walkers, which may not change the chain.
/// </summary>
internal struct RmapLock(ulong head, bool readOnly)
{
    public enum Pass : byte { Read, Cmpxchg }

    public readonly ulong Head = head;
    public readonly bool ReadOnly = readOnly;
    public Pass Next;
    public ulong Value;
}

/// <summary>struct rmap_iterator: the descriptor being walked (0 for a single-SPTE rmap) and the position in it.</summary>
internal struct RmapIterator
{
    public ulong Desc;
    public int Pos;
}

public sealed partial class Kvm
{
    public const ulong KvmRmapMany = 1UL << 0;        // KVM_RMAP_MANY
    public const ulong KvmRmapLocked = 1UL << 1;      // KVM_RMAP_LOCKED

    private static ulong DescField(ulong desc, int field) => desc + (ulong)field * 8;
    private static ulong DescSpte(ulong desc, int i) => desc + (ulong)(PteListDesc.Sptes + i) * 8;

    /// <summary>
    /// __kvm_rmap_lock(), one pass of its spin per call, each after a scheduling point:
    /// <c>var lk = new RmapLock(head, readOnly); yield return null; while (!KvmRmapLockStep(ref lk)) yield return null;</c>.
    /// Elided (Value = 0) for an empty rmap; otherwise spins while LOCKED, re-reads after the pause,
    /// re-checks for empty, and cmpxchgs LOCKED in. Value = the rmap without LOCKED.
    /// </summary>
    private bool KvmRmapLockStep(ref RmapLock lk)
    {
        ulong old;
        if (lk.Next == RmapLock.Pass.Read)
        {
            old = _mem.Read(lk.Head);
        }
        else
        {
            old = _mem.CompareExchange(lk.Head, lk.Value, lk.Value | KvmRmapLocked);
            if (old == lk.Value)
            {
                _check.OnRmapLocked(lk.Head, old, lk.ReadOnly);
                if (Tracing) _m.Log($"rmap 0x{lk.Head:x} locked{(lk.ReadOnly ? " read-only" : "")} (value 0x{old:x})");
                return true;
            }
        }
        lk.Value = old;
        // Also the recheck after spinning: the rmap may have been purged by the task that held the lock.
        if (old == 0)
        {
            if (Tracing) _m.Log($"rmap 0x{lk.Head:x} empty: lock elided{(lk.ReadOnly ? " (read-only)" : "")}");
            return true;
        }
        if ((old & KvmRmapLocked) != 0)
        {
            _m.Event(MmuEvent.RmapLockContended, lk.Head);
            if (Tracing) _m.Log($"spins on LOCKED rmap 0x{lk.Head:x}");
            Self.WaitWhileEquals(lk.Head, old);
            lk.Next = RmapLock.Pass.Read;
            return false;
        }
        lk.Next = RmapLock.Pass.Cmpxchg;
        return false;
    }

    /// <summary>kvm_rmap_unlock(): a release store of the new value; the caller has passed a scheduling point.</summary>
    internal void KvmRmapUnlock(ulong head, ulong newVal)
    {
        _check.OnRmapUnlock(head, newVal);
        _mem.Write(head, newVal);
        if (Tracing) _m.Log($"rmap 0x{head:x} unlocked, value 0x{newVal:x}");
    }

    /// <summary>kvm_rmap_unlock_readonly(): a no-op when the lock was elided on an empty rmap.</summary>
    internal Co KvmRmapUnlockReadonly(ulong head, ulong oldVal)
    {
        if (oldVal == 0 && !_bugs.RoUnlockEmpty) yield break;
        yield return null;
        _check.OnRmapUnlockReadonly(head, oldVal);
        _mem.Write(head, oldVal);
        if (Tracing) _m.Log($"rmap 0x{head:x} unlocked read-only, value 0x{oldVal:x}");
    }

    /// <summary>pte_list_add(): returns (in Ret) the number of SPTEs in the chain before the new one.</summary>
    internal Co PteListAdd(ulong spte, ulong head)
    {
        var self = Self;
        var lk = new RmapLock(head, readOnly: false);
        yield return null;
        while (!KvmRmapLockStep(ref lk)) yield return null;
        ulong oldVal = lk.Value, newVal;
        ulong count = 0;
        if (oldVal == 0)
        {
            newVal = spte;
        }
        else if ((oldVal & KvmRmapMany) == 0)
        {
            ulong desc = AllocPteListDesc();
            _mem.Write(DescSpte(desc, 0), oldVal);
            _mem.Write(DescSpte(desc, 1), spte);
            _mem.Write(DescField(desc, PteListDesc.SpteCount), 2);
            _mem.Write(DescField(desc, PteListDesc.TailCount), 0);
            newVal = desc | KvmRmapMany;
            count = 1;
        }
        else
        {
            ulong desc = oldVal & ~KvmRmapMany;
            yield return null;
            ulong spteCount = _mem.Read(DescField(desc, PteListDesc.SpteCount));
            yield return null;
            count = _mem.Read(DescField(desc, PteListDesc.TailCount)) + spteCount;
            // If the previous head is full, allocate a new head descriptor, as tail descriptors are always full.
            if (spteCount == PteListDesc.PteListExt)
            {
                desc = AllocPteListDesc();
                _mem.Write(DescField(desc, PteListDesc.More), oldVal & ~KvmRmapMany);
                _mem.Write(DescField(desc, PteListDesc.SpteCount), 0);
                _mem.Write(DescField(desc, PteListDesc.TailCount), count);
                newVal = desc | KvmRmapMany;
                spteCount = 0;
            }
            else
            {
                newVal = oldVal;
            }
            yield return null;
            _mem.Write(DescSpte(desc, (int)spteCount), spte);
            yield return null;
            _mem.Write(DescField(desc, PteListDesc.SpteCount), spteCount + 1);
        }
        yield return null;
        KvmRmapUnlock(head, newVal);
        self.Ret = count;
    }

    private ulong AllocPteListDesc() => _mem.Alloc(PteListDesc.Words, ObjPteListDesc, "pte_list_desc");

    /// <summary>
    /// pte_list_desc_remove_entry(): fill the hole with the head's last entry; free an emptied head
    /// and make the next descriptor the head. Returns the new rmap value in Ret.
    /// </summary>
    private Co PteListDescRemoveEntry(ulong rmapVal, ulong desc, int i)
    {
        var self = Self;
        ulong headDesc = rmapVal & ~KvmRmapMany;
        yield return null;
        int j = (int)_mem.Read(DescField(headDesc, PteListDesc.SpteCount)) - 1;
        yield return null;
        ulong last = _mem.Read(DescSpte(headDesc, j));
        yield return null;
        _mem.Write(DescSpte(desc, i), last);
        yield return null;
        _mem.Write(DescSpte(headDesc, j), 0);
        yield return null;
        _mem.Write(DescField(headDesc, PteListDesc.SpteCount), (ulong)j);
        self.Ret = rmapVal;
        if (j != 0) yield break;
        yield return null;
        ulong more = _mem.Read(DescField(headDesc, PteListDesc.More));
        self.Ret = more == 0 ? 0 : more | KvmRmapMany;
        yield return null;
        _mem.Free(headDesc);
    }

    /// <summary>pte_list_remove(): the SPTE must be in the chain (KVM_BUG_ON_DATA_CORRUPTION otherwise).</summary>
    internal Co PteListRemove(ulong spte, ulong head)
    {
        var self = Self;
        var lk = new RmapLock(head, readOnly: false);
        yield return null;
        while (!KvmRmapLockStep(ref lk)) yield return null;
        ulong rmapVal = lk.Value;
        if (rmapVal == 0)
            throw Inv.Violation(Inv.RmapContents, "pte_list_remove", $"removing SPTE 0x{spte:x} from empty rmap 0x{head:x}", Dump());
        if ((rmapVal & KvmRmapMany) == 0)
        {
            if (rmapVal != spte)
                throw Inv.Violation(Inv.RmapContents, "pte_list_remove", $"rmap 0x{head:x} holds 0x{rmapVal:x}, not SPTE 0x{spte:x}", Dump());
            rmapVal = 0;
        }
        else
        {
            ulong desc = rmapVal & ~KvmRmapMany;
            bool found = false;
            while (desc != 0 && !found)
            {
                yield return null;
                int n = (int)_mem.Read(DescField(desc, PteListDesc.SpteCount));
                for (int i = 0; i < n; i++)
                {
                    yield return null;
                    if (_mem.Read(DescSpte(desc, i)) != spte) continue;
                    yield return Call(PteListDescRemoveEntry(rmapVal, desc, i));
                    rmapVal = self.Ret;
                    found = true;
                    break;
                }
                if (found) break;
                yield return null;
                desc = _mem.Read(DescField(desc, PteListDesc.More));
            }
            if (!found)
                throw Inv.Violation(Inv.RmapContents, "pte_list_remove", $"SPTE 0x{spte:x} not found in rmap 0x{head:x}", Dump());
        }
        yield return null;
        KvmRmapUnlock(head, rmapVal);
    }

    /// <summary>kvm_zap_all_rmap_sptes(): clears every SPTE in the chain and frees the descriptors. Ret = 1 if anything was zapped.</summary>
    internal Co KvmZapAllRmapSptes(ulong head)
    {
        var self = Self;
        var lk = new RmapLock(head, readOnly: false);
        yield return null;
        while (!KvmRmapLockStep(ref lk)) yield return null;
        ulong rmapVal = lk.Value;
        if (rmapVal == 0)
        {
            self.Ret = 0;
            yield break;
        }
        if ((rmapVal & KvmRmapMany) == 0)
        {
            yield return null;
            MmuSpteClearTrackBits(rmapVal);
        }
        else
        {
            for (ulong desc = rmapVal & ~KvmRmapMany, next; desc != 0; desc = next)
            {
                yield return null;
                int n = (int)_mem.Read(DescField(desc, PteListDesc.SpteCount));
                for (int i = 0; i < n; i++)
                {
                    yield return null;
                    ulong sptep = _mem.Read(DescSpte(desc, i));
                    yield return null;
                    MmuSpteClearTrackBits(sptep);
                }
                yield return null;
                next = _mem.Read(DescField(desc, PteListDesc.More));
                yield return null;
                _mem.Free(desc);
            }
        }
        // rmap_head is meaningless now, remember to reset it
        yield return null;
        KvmRmapUnlock(head, 0);
        self.Ret = 1;
    }

    /// <summary>rmap_get_first(): one step; reads the rmap value (ignoring LOCKED) and the first entry.</summary>
    internal ulong RmapGetFirst(ulong head, ref RmapIterator iter)
    {
        ulong rmapVal = _mem.Read(head) & ~KvmRmapLocked;   // kvm_rmap_get()
        if (rmapVal == 0) return 0;
        if ((rmapVal & KvmRmapMany) == 0)
        {
            iter.Desc = 0;
            return rmapVal;
        }
        iter.Desc = rmapVal & ~KvmRmapMany;
        iter.Pos = 0;
        return _mem.Read(DescSpte(iter.Desc, 0));
    }

    /// <summary>rmap_get_next(): one step.</summary>
    internal ulong RmapGetNext(ref RmapIterator iter)
    {
        if (iter.Desc == 0) return 0;
        if (iter.Pos < PteListDesc.PteListExt - 1)
        {
            ++iter.Pos;
            ulong s = _mem.Read(DescSpte(iter.Desc, iter.Pos));
            if (s != 0) return s;
        }
        iter.Desc = _mem.Read(DescField(iter.Desc, PteListDesc.More));
        if (iter.Desc == 0) return 0;
        iter.Pos = 0;
        return _mem.Read(DescSpte(iter.Desc, 0));   // desc->sptes[0] cannot be NULL
    }

    /// <summary>
    /// The SPTE for_each_rmap_spte() visits. The walker is for mmu_lock holders and BUG()s on a
    /// non-present SPTE, because with mmu_lock held for write no one else can zap one.
    /// </summary>
    private ulong ReadRmapSpte(ulong head, ulong sptep, string site)
    {
        ulong spte = _mem.Read(sptep);
        if (!Spte.IsShadowPresent(spte))
            throw Inv.Violation(Inv.RmapContents, site,
                $"BUG: for_each_rmap_spte() found non-present SPTE 0x{sptep:x} ({Spte.Describe(spte)}) in rmap 0x{head:x}", Dump());
        return spte;
    }

    /// <summary>
    /// for_each_rmap_spte() with the loop body as a coroutine, for the walks that choose their
    /// walker at run time (see <see cref="ReadRmapSpte"/>). Calls <paramref name="body"/> with
    /// (sptep, spte); the body sets Ret = 1 to stop the walk.
    /// </summary>
    internal Co ForEachRmapSpte(ulong head, Func<ulong, ulong, Co> body, string site)
    {
        var self = Self;
        var iter = default(RmapIterator);
        yield return null;
        for (ulong sptep = RmapGetFirst(head, ref iter); sptep != 0;)
        {
            yield return null;
            ulong spte = ReadRmapSpte(head, sptep, site);
            self.Ret = 0;
            yield return Call(body(sptep, spte));
            if (self.Ret != 0) yield break;
            yield return null;
            sptep = RmapGetNext(ref iter);
        }
        self.Ret = 0;
    }

    /// <summary>for_each_rmap_spte_lockless(): skips SPTEs that a concurrent zap already cleared.</summary>
    internal Co ForEachRmapSpteLockless(ulong head, Func<ulong, ulong, Co> body)
    {
        var self = Self;
        var iter = default(RmapIterator);
        yield return null;
        for (ulong sptep = RmapGetFirst(head, ref iter); sptep != 0;)
        {
            yield return null;
            ulong spte = _mem.Read(sptep);                   // mmu_spte_get_lockless()
            if (Spte.IsShadowPresent(spte))
            {
                self.Ret = 0;
                yield return Call(body(sptep, spte));
                if (self.Ret != 0) yield break;
            }
            yield return null;
            sptep = RmapGetNext(ref iter);
        }
        self.Ret = 0;
    }
}
