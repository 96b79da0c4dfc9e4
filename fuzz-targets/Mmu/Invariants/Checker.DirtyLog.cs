namespace Fuzz.Targets.Mmu;

/// <summary>
/// No lost dirty page. Invariant 13: once dirty logging's first write protection of a slot has
/// completed, every guest write to it is covered: the gfn's bit in the dirty bitmap is set when or
/// after the write happens (fast_page_fault() marks the gfn just after its cmpxchg, so another
/// vCPU may write in between), or a KVM_GET_DIRTY_LOG returns after the write with the gfn in it. Invariant 14's dirty clause: a page the guest wrote is reported dirty to the host
/// (kvm_release_faultin_page() at the end of the fault that mapped it writable), whatever later
/// clears the SPTE's A/D or W bits. Both are settled once everything is quiescent.
/// </summary>
internal sealed partial class Checker
{
    private readonly bool[] _wpComplete = new bool[Kvm.MaxSlots];
    private readonly List<(int Slot, ulong Gfn, int Vcpu, string Via)> _unloggedWrites = new();
    private readonly List<ulong> _writtenPfns = new();

    public void OnWriteProtectStart(int slot) => _wpComplete[slot] = false;
    public void OnWriteProtectDone(int slot) => _wpComplete[slot] = true;

    public void OnMemslotDeleted(int slot)
    {
        _wpComplete[slot] = false;
        _unloggedWrites.RemoveAll(w => w.Slot == slot);
        Array.Clear(_writeTracked, slot * Kvm.SlotPages, Kvm.SlotPages);
        _rmapsChanged = true;
    }

    /// <summary>KVM_GET_DIRTY_LOG returned these gfns (bits from the slot's base) dirty: userspace copies them after every write so far.</summary>
    public void OnDirtyLogHarvested(int slot, ulong mask)
    {
        if (_unloggedWrites.Count != 0 && mask != 0)
            _unloggedWrites.RemoveAll(w => w.Slot == slot && (mask & (1UL << (int)(w.Gfn - Kvm.SlotBaseGfn(slot)))) != 0);
    }

    public void OnMarkPageDirty(int slot, ulong gfn)
    {
        if (_unloggedWrites.Count != 0) _unloggedWrites.RemoveAll(w => w.Slot == slot && w.Gfn == gfn);
    }

    private void OnGuestWrite(Vcpu vcpu, ulong gfn, ulong pfn, string via)
    {
        if (!_writtenPfns.Contains(pfn)) _writtenPfns.Add(pfn);
        ulong slot = SlotCovering(gfn, out int id);
        if (slot == 0) return;
        CheckWriteTracked(vcpu, id, gfn, via);
        if ((Mem.Peek(slot + Kvm.SFlags * 8) & Kvm.KvmMemLogDirtyPages) == 0 || !_wpComplete[id]) return;
        ulong bitmap = Mem.Peek(slot + Kvm.SDirtyBitmap * 8);
        ulong rel = gfn - Mem.Peek(slot + Kvm.SBaseGfn * 8);
        if ((Mem.Peek(bitmap + rel / 64 * 8) & (1UL << (int)(rel % 64))) == 0 && !_unloggedWrites.Exists(w => w.Slot == id && w.Gfn == gfn))
            _unloggedWrites.Add((id, gfn, vcpu.Id, via));
    }

    private void CheckNoLostDirtyPage()
    {
        if (_unloggedWrites.Count != 0)
        {
            var w = _unloggedWrites[0];
            throw Fail(Invariant.DirtyLogging, "quiescent",
                $"vCPU {w.Vcpu} wrote gfn 0x{w.Gfn:x} via {w.Via} after dirty-log write protection of memslot {w.Slot} completed, and no dirty bit was set for the gfn afterwards");
        }
        foreach (ulong pfn in _writtenPfns)
            if ((_kvm.Pfns[(int)pfn] & Kvm.PfnState.Dirty) == 0)
                throw Fail(Invariant.AgingHarmless, "quiescent", $"the guest wrote pfn {pfn}, and the host was never told the page is dirty");
    }

    private ulong SlotCovering(ulong gfn, out int id)
    {
        foreach (var (i, slot) in Memslots)
        {
            ulong b = Mem.Peek(slot + Kvm.SBaseGfn * 8);
            if (gfn >= b && gfn < b + Mem.Peek(slot + Kvm.SNpages * 8))
            {
                id = i;
                return slot;
            }
        }
        id = -1;
        return 0;
    }
}
