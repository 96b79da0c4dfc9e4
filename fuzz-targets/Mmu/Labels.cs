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

    /// <summary>Level-1 pages by alias * MaxSlots + 2M region.</summary>
    private static readonly string[] LeafShadowPage = Enumerable.Range(0, Kvm.ShadowAliases * Kvm.MaxSlots)
        .Select(key => $"sp alias {key / Kvm.MaxSlots} gfn 0x{(ulong)(key % Kvm.MaxSlots) * Kvm.PagesPerHpage2M:x} level 1").ToArray();

    private static readonly string[] RootShadowPage = Enumerable.Range(0, Kvm.ShadowAliases).Select(a => $"sp alias {a} root level {Kvm.RootLevel}").ToArray();

    public static string ShadowPageLabel(int level, int alias, ulong gfn)
    {
        if (level == Kvm.RootLevel && alias < RootShadowPage.Length) return RootShadowPage[alias];
        long key = alias * Kvm.MaxSlots + (long)(gfn / Kvm.PagesPerHpage2M);
        return level == 1 && key < LeafShadowPage.Length ? LeafShadowPage[key] : $"sp alias {alias} gfn 0x{gfn:x} level {level}";
    }

    public static readonly string[] Thread = Enumerable.Range(0, Kvm.MaxVcpus).Select(t => $"T{t}").ToArray();
}
