namespace Fuzz.Targets.Mmu;

/// <summary>SPTE bits, laid out as the kernel lays out EPT SPTEs (arch/x86/kvm/mmu/spte.h).</summary>
public static class Spte
{
    public const ulong Readable = 1UL << 0;
    public const ulong Writable = 1UL << 1;            // PT_WRITABLE_MASK
    public const ulong Executable = 1UL << 2;
    public const ulong RwxMask = Readable | Writable | Executable;
    public const ulong Accessed = 1UL << 8;
    public const ulong Dirty = 1UL << 9;
    public const ulong MmuPresent = 1UL << 11;         // SPTE_MMU_PRESENT_MASK
    public const int PfnShift = 12;
    public const ulong PfnMask = ((1UL << 40) - 1) << PfnShift;
    public const ulong AdDisabled = 1UL << 52;         // SPTE_TDP_AD_DISABLED
    public const int AccTrackSavedShift = 54;          // SHADOW_ACC_TRACK_SAVED_BITS_SHIFT
    public const ulong AccTrackSavedMask = Readable | Executable;
    public const ulong HostWritable = 1UL << 57;       // EPT_SPTE_HOST_WRITABLE
    public const ulong MmuWritable = 1UL << 58;        // EPT_SPTE_MMU_WRITABLE

    public static bool IsShadowPresent(ulong spte) => (spte & MmuPresent) != 0;
    public static bool IsWritable(ulong spte) => (spte & Writable) != 0;
    public static bool IsMmuWritable(ulong spte) => (spte & MmuWritable) != 0;
    public static bool IsHostWritable(ulong spte) => (spte & HostWritable) != 0;
    public static bool AdEnabled(ulong spte) => (spte & AdDisabled) == 0;
    public static ulong ToPfn(ulong spte) => (spte & PfnMask) >> PfnShift;

    /// <summary>Access-tracked: MMU-present, but no RWX bits, so the hardware faults on any access.</summary>
    public static bool IsAccessTrack(ulong spte) => !AdEnabled(spte) && (spte & RwxMask) == 0;

    /// <summary>is_accessed_spte(): EPT keeps shadow_accessed_mask even without A/D bits, so KVM sets and clears it in software.</summary>
    public static bool IsAccessed(ulong spte) => (spte & Accessed) != 0;

    /// <summary>
    /// spte_needs_atomic_update(): the SPTE has bits something may change without mmu_lock and that
    /// must not be lost: W that fast_page_fault() may restore (MMU-writable but not W), any A/D-disabled
    /// SPTE (aging access-tracks it, fast_page_fault() restores it), and a W SPTE whose Dirty bit
    /// the CPU may still set. A lost Accessed bit is tolerated.
    /// </summary>
    public static bool NeedsAtomicUpdate(ulong spte)
    {
        if (!IsWritable(spte) && IsMmuWritable(spte)) return true;
        if (!AdEnabled(spte)) return true;
        return IsWritable(spte) && (spte & Dirty) == 0;
    }

    /// <summary>leaf_spte_change_needs_tlb_flush(): only MMU-writable going 1→0 must be flushed at once.</summary>
    public static bool LeafChangeNeedsTlbFlush(ulong old, ulong spte) => IsMmuWritable(old) && !IsMmuWritable(spte);

    /// <summary>mark_spte_for_access_track(): A/D SPTEs lose Accessed; others lose RWX, R/X saved high.</summary>
    public static ulong MarkForAccessTrack(ulong spte)
    {
        if (AdEnabled(spte)) return spte & ~Accessed;
        if (IsAccessTrack(spte)) return spte;
        spte |= (spte & AccTrackSavedMask) << AccTrackSavedShift;
        return spte & ~(RwxMask | Accessed);
    }

    /// <summary>restore_acc_track_spte(): puts back the saved R/X bits.</summary>
    public static ulong RestoreAccessTrack(ulong spte)
    {
        ulong saved = (spte >> AccTrackSavedShift) & AccTrackSavedMask;
        spte &= ~(AccTrackSavedMask << AccTrackSavedShift);
        return spte | saved;
    }

    public static string Describe(ulong spte)
    {
        if (spte == 0) return "0 (not present)";
        var bits = new List<string>();
        if (IsShadowPresent(spte)) bits.Add("P");
        if ((spte & Readable) != 0) bits.Add("R");
        if (IsWritable(spte)) bits.Add("W");
        if ((spte & Executable) != 0) bits.Add("X");
        if ((spte & Accessed) != 0) bits.Add("A");
        if ((spte & Dirty) != 0) bits.Add("D");
        if (IsMmuWritable(spte)) bits.Add("MMU-W");
        if (IsHostWritable(spte)) bits.Add("HOST-W");
        if (!AdEnabled(spte)) bits.Add(IsAccessTrack(spte) ? "AD-off,acc-track" : "AD-off");
        return $"0x{spte:x} pfn={ToPfn(spte)} [{string.Join(' ', bits)}]";
    }
}
