namespace Fuzz.Targets.Mmu;

/// <summary>
/// Invariant 8's promise to write tracking: from the return of kvm_write_track_add_gfn() until its
/// kvm_write_track_remove_gfn(), no guest write reaches the gfn through an SPTE or TLB entry; each
/// one faults and is emulated. That holds only if clearing MMU-writable was flushed in time.
/// </summary>
internal sealed partial class Checker
{
    private readonly int[] _writeTracked = new int[Kvm.MaxSlots * Kvm.SlotPages];

    private int WriteTrackIndex(int slot, ulong gfn) => slot * Kvm.SlotPages + (int)(gfn - Kvm.SlotBaseGfn(slot));

    public void OnWriteTrackAdded(int slot, ulong gfn) => _writeTracked[WriteTrackIndex(slot, gfn)]++;

    public void OnWriteTrackRemoving(int slot, ulong gfn)
    {
        ref int n = ref _writeTracked[WriteTrackIndex(slot, gfn)];
        if (n > 0) n--;
    }

    private void CheckWriteTracked(Vcpu vcpu, int id, ulong gfn, string via)
    {
        if (_writeTracked[WriteTrackIndex(id, gfn)] > 0)
            throw Fail(Invariant.WritableBits, "guest access",
                $"vCPU {vcpu.Id} wrote write-tracked gfn 0x{gfn:x} via {via} without faulting: a writable translation survived kvm_write_track_add_gfn()");
    }
}
