namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    // struct kvm_memory_slot words
    internal const int SBaseGfn = 0, SNpages = 1, SFlags = 2, SUserspaceAddr = 3, SId = 4, SRmap4K = 5, SRmap2M = 6, SDirtyBitmap = 7, SGfnWriteTrack = 8, SlotWords = 9;
    internal const ulong KvmMemLogDirtyPages = 1, KvmMemslotInvalid = 1UL << 16;

    public static ulong SlotBaseGfn(int slot) => (ulong)slot * PagesPerHpage2M;

    /// <summary>kvm_alloc_memslot_metadata: per-level rmap arrays sized like the kernel's, and the gfn write-track counts.</summary>
    private ulong AllocMemslot(int id)
    {
        ulong baseGfn = SlotBaseGfn(id);
        ulong slot = _mem.Alloc(SlotWords, ObjMemslot, Labels.Memslot[id]);
        _mem.Write(slot + SBaseGfn * 8, baseGfn);
        _mem.Write(slot + SNpages * 8, SlotPages);
        _mem.Write(slot + SUserspaceAddr * 8, HvaBase + baseGfn);
        _mem.Write(slot + SId * 8, (ulong)id);
        _mem.Write(slot + SRmap4K * 8, _mem.Alloc(RmapEntries(baseGfn, 1), ObjRmapArray, Labels.Rmap4K[id]));
        _mem.Write(slot + SRmap2M * 8, _mem.Alloc(RmapEntries(baseGfn, 2), ObjRmapArray, Labels.Rmap2M[id]));
        _mem.Write(slot + SGfnWriteTrack * 8, _mem.Alloc(SlotPages, ObjGfnWriteTrack, Labels.GfnWriteTrack[id]));
        return slot;
    }

    private static int RmapEntries(ulong baseGfn, int level)
    {
        int shift = GfnLevelShift(level);
        return (int)(((baseGfn + SlotPages - 1) >> shift) - (baseGfn >> shift) + 1);
    }

    internal static ulong GfnOf(int slot, int offset) => SlotBaseGfn(slot) + (ulong)offset;

    /// <summary>kvm_for_each_memslot(): each entry of <paramref name="slots"/> is read as the running actor's access.</summary>
    internal MemslotIterator ForEachMemslot(ulong slots) => MemslotIterator.Read(_mem, slots);

    /// <summary>__gfn_to_memslot() on a memslots array; null (0) when no slot covers the gfn.</summary>
    internal ulong GfnToMemslot(ulong slots, ulong gfn)
    {
        foreach (var (_, slot) in ForEachMemslot(slots))
        {
            ulong b = _mem.ReadConst(slot + SBaseGfn * 8);
            if (gfn >= b && gfn < b + _mem.ReadConst(slot + SNpages * 8)) return slot;
        }
        return 0;
    }
}
