namespace Fuzz.Targets.Mmu;

/// <summary>
/// MMIO SPTEs as spte.h lays them out for EPT: shadow_mmio_value (W and X without R, an EPT
/// misconfiguration) under shadow_mmio_mask (RWX), never MMU-present, the gfn where a leaf keeps its
/// pfn, and the low bits of the memslot generation. The kernel keeps MMIO_SPTE_GEN_MASK (19 bits);
/// the model keeps four, so the generation wraps within a program.
/// </summary>
public static class MmioSpte
{
    public const ulong MmioValue = Spte.Writable | Spte.Executable;
    public const ulong MmioMask = Spte.RwxMask;
    public const int GenShift = 3;                     // MMIO_SPTE_GEN_LOW_SHIFT
    public const int GenBits = 4;
    public const ulong GenMask = (1UL << GenBits) - 1; // MMIO_SPTE_GEN_MASK

    /// <summary>is_mmio_spte().</summary>
    public static bool IsMmio(ulong spte) => (spte & MmioMask) == MmioValue && !Spte.IsShadowPresent(spte);

    /// <summary>make_mmio_spte(): the generation masked to the bits the SPTE keeps (the in-progress bit is not among them).</summary>
    public static ulong Make(ulong gfn, ulong gen) => MmioValue | ((gen & GenMask) << GenShift) | (gfn << Spte.PfnShift);

    /// <summary>get_mmio_spte_generation().</summary>
    public static ulong Generation(ulong spte) => (spte >> GenShift) & GenMask;

    /// <summary>get_mmio_spte_gfn().</summary>
    public static ulong Gfn(ulong spte) => Spte.ToPfn(spte);

    public static string Describe(ulong spte) => $"0x{spte:x} MMIO gfn=0x{Gfn(spte):x} gen={Generation(spte)}";
}
