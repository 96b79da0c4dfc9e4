using Fuzz.Targets.Mmu;

namespace Fuzz.Tests.Rmap;

/// <summary>A gfn's 4K rmap as a finished run left it, read around the scheduler through the model's gfn_to_rmap and descriptor walk.</summary>
internal static class RmapReader
{
    public static ulong Head(Kvm kvm, int slotId, int gfnOffset)
    {
        var mem = kvm.Mem;
        foreach (var (id, slot) in MemslotIterator.Peek(mem, mem.Peek(kvm.MemslotsAddr)))
            if (id == slotId) return kvm.GfnToRmap(slot, Kvm.GfnOf(slotId, gfnOffset), 1);
        throw new InvalidOperationException($"memslot {slotId} does not exist");
    }

    /// <summary>The chain's descriptors from the head, as (spte_count, tail_count); empty for an empty or single-entry rmap.</summary>
    public static List<(int Count, int Tail)> Descriptors(Kvm kvm, int slotId, int gfnOffset)
    {
        var mem = kvm.Mem;
        ulong val = mem.Peek(Head(kvm, slotId, gfnOffset));
        var descs = new List<(int, int)>();
        if ((val & Kvm.KvmRmapMany) == 0) return descs;
        foreach (ulong d in new PteListDescIterator(mem, val & ~Kvm.KvmRmapMany))
            descs.Add(((int)mem.Peek(d + PteListDesc.SpteCount * 8), (int)mem.Peek(d + PteListDesc.TailCount * 8)));
        return descs;
    }
}
