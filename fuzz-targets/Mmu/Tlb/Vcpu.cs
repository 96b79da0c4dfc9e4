namespace Fuzz.Targets.Mmu;

/// <summary>A vCPU as the MMU sees it: an id and the TLB it translates guest accesses through.</summary>
internal sealed class Vcpu
{
    public const int TlbEntries = 8;

    public Vcpu(int id) => Id = id;

    public int Id { get; }
    public readonly Tlb Tlb = new();
}
