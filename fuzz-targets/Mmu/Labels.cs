namespace Fuzz.Targets.Mmu;

/// <summary>Names of simulated objects for fault messages, made once rather than on every run.</summary>
internal static class Labels
{
    public static readonly string[] Memslot = Enumerable.Range(0, Kvm.MaxSlots).Select(id => $"memslot {id}").ToArray();
    public static readonly string[] MemslotCopy = Enumerable.Range(0, Kvm.MaxSlots).Select(id => $"memslot {id} copy").ToArray();
    public static readonly string[] Rmap4K = Enumerable.Range(0, Kvm.MaxSlots).Select(id => $"slot {id} rmap 4K").ToArray();
    public static readonly string[] Rmap2M = Enumerable.Range(0, Kvm.MaxSlots).Select(id => $"slot {id} rmap 2M").ToArray();
    public static readonly string[] GfnWriteTrack = Enumerable.Range(0, Kvm.MaxSlots).Select(id => $"slot {id} gfn_write_track").ToArray();
    public static readonly string[] DirtyBitmap = Enumerable.Range(0, Kvm.MaxSlots).Select(id => $"slot {id} dirty bitmap").ToArray();

    /// <summary>By alias * MaxSlots + 2M region, as Kvm keys its shadow pages.</summary>
    public static readonly string[] ShadowPage = Enumerable.Range(0, Kvm.ShadowAliases * Kvm.MaxSlots)
        .Select(key => $"sp alias {key / Kvm.MaxSlots} gfn 0x{(ulong)(key % Kvm.MaxSlots) * Kvm.PagesPerHpage2M:x} level 1").ToArray();

    public static readonly string[] Thread = Enumerable.Range(0, Kvm.MaxVcpus).Select(t => $"T{t}").ToArray();
}
