namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    internal const ulong KvmMemslotGenUpdateInProgress = 1UL << 63;
    internal const int NrMemslotAsIds = 2;             // kvm_arch_nr_memslot_as_ids(): SMM has its own address space

    /// <summary>struct kvm_memslots: word 0 is its generation, then one entry per slot id.</summary>
    internal const int MemslotsGeneration = 0;

    /// <summary>kvm_memslots(kvm, as_id)->generation, read as the running actor's access.</summary>
    internal ulong MemslotsGenerationOf(int asId) => _mem.Read(_mem.Read(MemslotsAddrOf(asId)) + MemslotsGeneration * 8);

    /// <summary>
    /// mutex_lock(&amp;kvm->slots_lock), one attempt after a scheduling point (memslot ioctls are serialised):
    /// <c>yield return null; while (!TrySlotsLock()) yield return null;</c>
    /// </summary>
    private bool TrySlotsLock()
    {
        var self = Self;
        ulong v = _mem.Read(SlotsLockAddr);
        if (v != 0)
        {
            self.WaitWhileEquals(SlotsLockAddr, v);
            return false;
        }
        _mem.Write(SlotsLockAddr, (ulong)self.Id + 1);
        return true;
    }

    /// <summary>mutex_unlock(&amp;kvm->slots_lock); the caller has passed a scheduling point.</summary>
    private void SlotsUnlock() => _mem.Write(SlotsLockAddr, 0);

    private ulong SlotOf(ulong slots, int id) => _mem.Read(slots + (ulong)(1 + id) * 8);

    /// <summary>A copy of the active memslots with one entry replaced (the kernel's inactive set).</summary>
    private ulong CopyMemslots(ulong slots, int id, ulong slot)
    {
        ulong copy = _mem.Alloc(1 + MaxSlots, ObjMemslots, "kvm_memslots");
        for (int i = 0; i <= MaxSlots; i++) _mem.Write(copy + (ulong)i * 8, _mem.Read(slots + (ulong)i * 8));
        _mem.Write(copy + (ulong)(1 + id) * 8, slot);
        return copy;
    }

    private ulong CopyMemslot(ulong slot, ulong flags)
    {
        ulong copy = _mem.Alloc(SlotWords, ObjMemslot, Labels.MemslotCopy[(int)_mem.ReadConst(slot + SId * 8)]);
        for (int i = 0; i < SlotWords; i++) _mem.Write(copy + (ulong)i * 8, _mem.ReadConst(slot + (ulong)i * 8));
        _mem.Write(copy + SFlags * 8, flags);
        return copy;
    }

    /// <summary>
    /// kvm_swap_active_memslots(): the new memslots get the active generation with
    /// KVM_MEMSLOT_GEN_UPDATE_IN_PROGRESS; wait for running mmu_notifier invalidations to finish (so
    /// range_start and range_end see the same memslots), publish, wait for SRCU readers, then
    /// kvm_arch_memslots_updated() with the next generation of the address space
    /// (gen += kvm_arch_nr_memslot_as_ids()), and only then store it, dropping the in-progress bit.
    /// </summary>
    private Co KvmSwapActiveMemslots(int asId, ulong newSlots)
    {
        var self = Self;
        ulong active = MemslotsAddrOf(asId);
        yield return null;
        while (_mem.Read(MnActiveAddr) != 0)
        {
            self.WaitUntilEquals(MnActiveAddr, 0);
            yield return null;
        }
        ulong old = _mem.Read(active);
        ulong gen = _mem.Read(old + MemslotsGeneration * 8);
        _mem.Write(newSlots + MemslotsGeneration * 8, gen | KvmMemslotGenUpdateInProgress);
        _mem.Write(active, newSlots);
        _check.OnMemslotsSwapped();
        _m.Event(MmuEvent.MemslotsSwap);
        if (Tracing) _m.Log($"memslots of address space {asId} published, generation {gen} update in progress");
        yield return Call(SynchronizeSrcu());
        gen = (gen & ~KvmMemslotGenUpdateInProgress) + NrMemslotAsIds;
        yield return Call(KvmMmuInvalidateMmioSptes(gen));   // kvm_arch_memslots_updated()
        yield return null;
        _mem.Write(newSlots + MemslotsGeneration * 8, gen);
        if (Tracing) _m.Log($"address space {asId}: generation {gen}");
        _mem.Free(old);
    }

    /// <summary>KVM_SET_USER_MEMORY_REGION creating slot <paramref name="id"/> of address space <paramref name="asId"/> (KVM_MR_CREATE).</summary>
    internal Co MemslotCreate(int id, int asId = 0)
    {
        yield return null;
        while (!TrySlotsLock()) yield return null;
        ulong slots = _mem.Read(MemslotsAddrOf(asId));
        if (SlotOf(slots, id) == 0)
        {
            ulong slot = AllocMemslot(id);
            yield return Call(KvmSwapActiveMemslots(asId, CopyMemslots(slots, id, slot)));
            if (Tracing) _m.Log($"memslot {id} of address space {asId} created");
        }
        yield return null;
        SlotsUnlock();
    }

    /// <summary>
    /// KVM_MR_DELETE of slot <paramref name="id"/> in address space <paramref name="asId"/>: install an INVALID copy, wait for SRCU readers, zap the slot's SPTEs
    /// (kvm_arch_flush_shadow_memslot), remove it, wait again, and free it.
    /// </summary>
    internal Co MemslotDelete(int id, int asId = 0)
    {
        yield return null;
        while (!TrySlotsLock()) yield return null;
        ulong active = MemslotsAddrOf(asId);
        ulong old = SlotOf(_mem.Read(active), id);
        if (old != 0)
        {
            ulong invalid = CopyMemslot(old, _mem.ReadConst(old + SFlags * 8) | KvmMemslotInvalid);
            yield return Call(KvmSwapActiveMemslots(asId, CopyMemslots(_mem.Read(active), id, invalid)));
            yield return Call(KvmMmuZapMemslot(old));
            yield return Call(KvmSwapActiveMemslots(asId, CopyMemslots(_mem.Read(active), id, 0)));
            yield return null;
            _mem.Free(_mem.ReadConst(old + SRmap4K * 8));
            _mem.Free(_mem.ReadConst(old + SRmap2M * 8));
            _mem.Free(_mem.ReadConst(old + SGfnWriteTrack * 8));
            ulong bitmap = _mem.ReadConst(old + SDirtyBitmap * 8);
            if (bitmap != 0) _mem.Free(bitmap);
            _mem.Free(invalid);
            _mem.Free(old);
            if (asId == 0) _check.OnMemslotDeleted(id);
            if (Tracing) _m.Log($"memslot {id} of address space {asId} deleted");
        }
        yield return null;
        SlotsUnlock();
    }

    /// <summary>kvm_mmu_zap_memslot(): kvm_unmap_gfn_range() over the whole slot, may block, then flush.</summary>
    private Co KvmMmuZapMemslot(ulong slot)
    {
        var self = Self;
        ulong baseGfn = _mem.ReadConst(slot + SBaseGfn * 8), npages = _mem.ReadConst(slot + SNpages * 8);
        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        yield return Call(KvmUnmapGfnRange(slot, baseGfn, baseGfn + npages, mayBlock: true));
        if (self.Ret != 0) yield return Call(KvmFlushRemoteTlbs());
        yield return null;
        WriteUnlockMmu();
    }

    /// <summary>KVM_SET_USER_MEMORY_REGION on address space 1 (SMM): create slot <paramref name="id"/> if it is absent, else delete it.</summary>
    internal Co SmmMemslotToggle(int id)
    {
        yield return null;
        bool present = SlotOf(_mem.Read(MemslotsAddrOf(1)), id) != 0;
        yield return Call(present ? MemslotDelete(id, asId: 1) : MemslotCreate(id, asId: 1));
    }
}
