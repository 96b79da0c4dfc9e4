namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>The host page table entry mapping <paramref name="hva"/>: one 2M region per memslot's range.</summary>
    internal ulong HostPteAddr(ulong hva)
    {
        ulong gfn = hva - HvaBase;
        int region = (int)(gfn / PagesPerHpage2M), off = (int)(gfn % PagesPerHpage2M);
        return _hostPt + (ulong)(region * SlotPages + off) * 8;
    }
}

/// <summary>The model's host page table entry: bit 0 present, bit 1 writable, bit 2 VM_WRITE of the VMA, pfn above.</summary>
internal static class HostPte
{
    public const ulong Present = 1, Writable = 2, VmWrite = 4;
    public static ulong Pfn(ulong pte) => pte >> 12;
}
