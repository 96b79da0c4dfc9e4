namespace Fuzz.Targets.Mmu;

/// <summary>A vCPU as the MMU sees it: an id, the TLB it translates guest accesses through, and its cached MMIO info.</summary>
internal sealed class Vcpu
{
    public const int TlbEntries = 8;

    public Vcpu(int id) => Id = id;

    public int Id { get; }
    public readonly Tlb Tlb = new();

    /// <summary>vcpu->arch.mmio_gfn and mmio_gen: the last MMIO access, cached by vcpu_cache_mmio_info(); gfn 0 is no entry.</summary>
    public ulong MmioGfn, MmioGen;
}
