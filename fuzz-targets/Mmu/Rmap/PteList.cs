namespace Fuzz.Targets.Mmu;

/// <summary>struct pte_list_desc in simulated memory.</summary>
internal static class PteListDesc
{
    public const int More = 0, SpteCount = 1, TailCount = 2, Sptes = 3;
    public const int PteListExt = 14;                 // PTE_LIST_EXT
    public const int Words = Sptes + PteListExt;
}

public sealed partial class Kvm
{
    public const ulong KvmRmapMany = 1UL << 0;        // KVM_RMAP_MANY

    private static ulong DescField(ulong desc, int field) => desc + (ulong)field * 8;
    private static ulong DescSpte(ulong desc, int i) => desc + (ulong)(PteListDesc.Sptes + i) * 8;

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
                _m.Event(MmuEvent.PteListDescPrepended, count / PteListDesc.PteListExt + 1);
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

    /// <summary>Every pte_list_desc of this run, freed or not, in allocation order: what pte_list_desc_cache handed out.</summary>
    private readonly List<ulong> _pteListDescs = new();

    internal IReadOnlyList<ulong> PteListDescs => _pteListDescs;

    private ulong AllocPteListDesc()
    {
        ulong desc = _mem.Alloc(PteListDesc.Words, ObjPteListDesc, "pte_list_desc");
        _pteListDescs.Add(desc);
        return desc;
    }

    /// <summary>mmu_free_pte_list_desc(): back to pte_list_desc_cache, with no grace period.</summary>
    private void MmuFreePteListDesc(ulong desc) => _mem.Free(desc);

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
        MmuFreePteListDesc(headDesc);
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
            throw Invariant.RmapContents.Violation("pte_list_remove", $"removing SPTE 0x{spte:x} from empty rmap 0x{head:x}", Dump());
        if ((rmapVal & KvmRmapMany) == 0)
        {
            if (rmapVal != spte)
                throw Invariant.RmapContents.Violation("pte_list_remove", $"rmap 0x{head:x} holds 0x{rmapVal:x}, not SPTE 0x{spte:x}", Dump());
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
                throw Invariant.RmapContents.Violation("pte_list_remove", $"SPTE 0x{spte:x} not found in rmap 0x{head:x}", Dump());
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
                MmuFreePteListDesc(desc);
            }
        }
        // rmap_head is meaningless now, remember to reset it
        yield return null;
        KvmRmapUnlock(head, 0);
        self.Ret = 1;
    }
}
