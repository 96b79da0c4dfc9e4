namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    /// <summary>What the host knows about a pfn: KVM reported it dirty / accessed; the page was freed.</summary>
    [Flags]
    internal enum PfnState : byte { None = 0, Dirty = 1, Accessed = 2, Freed = 4 }

    internal readonly List<PfnState> Pfns = new();

    internal ulong AllocPfn()
    {
        if (Pfns.Count == 0) Pfns.Add(PfnState.Freed);   // pfn 0 is never handed out
        Pfns.Add(PfnState.None);
        return (ulong)(Pfns.Count - 1);
    }

    private void SetPfnDirty(ulong pfn) => Pfns[(int)pfn] |= PfnState.Dirty;          // kvm_set_pfn_dirty()
    private void SetPfnAccessed(ulong pfn) => Pfns[(int)pfn] |= PfnState.Accessed;    // kvm_set_pfn_accessed()
}
