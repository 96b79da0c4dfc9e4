namespace Fuzz.Targets.Mmu;

/// <summary>Invariant 13: once dirty-log write protection of a slot completes, a guest write to it is in the dirty bitmap.</summary>
internal sealed partial class Checker
{
    private readonly bool[] _wpComplete = new bool[Kvm.MaxSlots];

    public void OnWriteProtectStart(int slot) => _wpComplete[slot] = false;
    public void OnWriteProtectDone(int slot) => _wpComplete[slot] = true;

    public void OnMemslotDeleted(int slot)
    {
        _wpComplete[slot] = false;
        _rmapsChanged = true;
    }

    private void CheckDirtyLogged(Vcpu vcpu, ulong gfn, string via)
    {
        ulong slot = SlotCovering(gfn, out int id);
        if (slot == 0 || (Mem.Peek(slot + Kvm.SFlags * 8) & Kvm.KvmMemLogDirtyPages) == 0 || !_wpComplete[id]) return;
        ulong bitmap = Mem.Peek(slot + Kvm.SDirtyBitmap * 8);
        ulong rel = gfn - Mem.Peek(slot + Kvm.SBaseGfn * 8);
        if ((Mem.Peek(bitmap + rel / 64 * 8) & (1UL << (int)(rel % 64))) == 0)
            throw Fail(Invariant.DirtyLogging, "guest access",
                $"vCPU {vcpu.Id} wrote gfn 0x{gfn:x} via {via} after dirty-log write protection completed, and the gfn is not marked dirty");
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
