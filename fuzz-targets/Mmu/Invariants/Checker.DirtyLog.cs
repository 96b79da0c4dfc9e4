namespace Fuzz.Targets.Mmu;

/// <summary>
/// No lost dirty page. Invariant 13: once dirty logging's first write protection of a slot has
/// completed, every guest write to it is covered: the gfn's bit in the dirty bitmap is set when or
/// after the write happens (fast_page_fault() marks the gfn just after its cmpxchg, so another
/// vCPU may write in between), or a KVM_GET_DIRTY_LOG returns after the write with the gfn in it.
/// Invariant 14's dirty clause: a page the guest wrote is reported dirty to the host
/// (kvm_release_faultin_page() at the end of the fault that mapped it writable), whatever later
/// clears the SPTE's A/D or W bits. Both are settled once everything is quiescent.
/// </summary>
internal sealed partial class Checker
{
    private readonly bool[] _wpComplete = new bool[Kvm.MaxSlots];
    private readonly List<(int Slot, ulong Gfn, int Vcpu, string Via)> _unloggedWrites = new();
    private bool[] _writtenPfns = new bool[64];   // by pfn

    public void OnWriteProtectStart(int slot) => _wpComplete[slot] = false;
    public void OnWriteProtectDone(int slot) => _wpComplete[slot] = true;

    public void OnMemslotDeleted(int slot)
    {
        _wpComplete[slot] = false;
        _unloggedWrites.RemoveAll(w => w.Slot == slot);
        Array.Clear(_writeTracked, slot * Kvm.SlotPages, Kvm.SlotPages);
        _rmapsChanged = true;
    }

    private readonly ulong[] _fastPfUnmarked = new ulong[Kvm.MaxVcpus];   // gfn + 1, 0 = none

    /// <summary>fast_page_fault() made the gfn's SPTE writable; it marks the gfn before it leaves its lockless walk.</summary>
    public void OnFastPfMadeWritable(Vcpu vcpu, ulong gfn) => _fastPfUnmarked[vcpu.Id] = gfn + 1;

    public void OnLocklessWalkEnd(Vcpu vcpu) => _fastPfUnmarked[vcpu.Id] = 0;

    /// <summary>
    /// KVM_GET_DIRTY_LOG returned these gfns (bits from the slot's base) dirty: userspace copies them
    /// after every write so far. And when it returns, every writable SPTE of the slot has its gfn
    /// marked dirty again (a fault marks before, fast_page_fault() just after making an SPTE
    /// writable), or the guest's writes through it would be lost.
    /// </summary>
    public void OnDirtyLogHarvested(int slot, ulong mask)
    {
        if (_unloggedWrites.Count != 0 && mask != 0)
            _unloggedWrites.RemoveAll(w => w.Slot == slot && (mask & (1UL << (int)(w.Gfn - Kvm.SlotBaseGfn(slot)))) != 0);
        if (!_wpComplete[slot]) return;
        ulong memslot = 0;
        foreach (var (i, m) in Memslots) if (i == slot) memslot = m;
        if (memslot == 0) return;
        ulong baseGfn = Mem.Peek(memslot + Kvm.SBaseGfn * 8);
        foreach (ulong sptep in _installed)
        {
            if (!Mem.IsLive(sptep)) continue;
            ulong spte = Mem.Peek(sptep);
            if (!Spte.IsShadowPresent(spte) || !Spte.IsWritable(spte)) continue;
            ulong gfn = _kvm.SpteInfo(sptep).Gfn;
            if (gfn < baseGfn || gfn >= baseGfn + Kvm.SlotPages || Array.IndexOf(_fastPfUnmarked, gfn + 1) >= 0) continue;
            if (!IsMarkedDirty(memslot, gfn))
                throw Fail(Invariant.DirtyLogging, "kvm_get_dirty_log_protect",
                    $"KVM_GET_DIRTY_LOG of memslot {slot} returns with SPTE 0x{sptep:x} of gfn 0x{gfn:x} writable and the gfn not marked dirty: {Spte.Describe(spte)}");
        }
    }

    public void OnMarkPageDirty(int slot, ulong gfn)
    {
        if (_unloggedWrites.Count != 0) _unloggedWrites.RemoveAll(w => w.Slot == slot && w.Gfn == gfn);
    }

    private void OnGuestWrite(Vcpu vcpu, ulong gfn, ulong pfn, string via)
    {
        if (pfn >= (ulong)_writtenPfns.Length) Array.Resize(ref _writtenPfns, Math.Max(_writtenPfns.Length * 2, (int)pfn + 1));
        _writtenPfns[pfn] = true;
        ulong slot = SlotCovering(gfn, out int id);
        if (slot == 0) return;
        CheckWriteTracked(vcpu, id, gfn, via);
        if ((Mem.Peek(slot + Kvm.SFlags * 8) & Kvm.KvmMemLogDirtyPages) == 0 || !_wpComplete[id]) return;
        if (!IsMarkedDirty(slot, gfn) && !_unloggedWrites.Exists(w => w.Slot == id && w.Gfn == gfn))
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
        for (int pfn = 0; pfn < _writtenPfns.Length; pfn++)
            if (_writtenPfns[pfn] && (_kvm.Pfns[pfn] & Kvm.PfnState.Dirty) == 0)
                throw Fail(Invariant.AgingHarmless, "quiescent", $"the guest wrote pfn {pfn}, and the host was never told the page is dirty");
    }

    /// <summary>The gfn's bit in the dirty bitmap of <paramref name="memslot"/>.</summary>
    private bool IsMarkedDirty(ulong memslot, ulong gfn)
    {
        ulong bitmap = Mem.Peek(memslot + Kvm.SDirtyBitmap * 8), rel = gfn - Mem.Peek(memslot + Kvm.SBaseGfn * 8);
        return (Mem.Peek(bitmap + rel / 64 * 8) & (1UL << (int)(rel % 64))) != 0;
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
