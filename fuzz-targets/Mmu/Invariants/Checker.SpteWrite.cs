namespace Fuzz.Targets.Mmu;

/// <summary>
/// Every SPTE write: invariant 8 (W implies MMU-writable implies host-writable; a present SPTE keeps
/// its pfn and host-writable bit) and invariant 14 (aging clears Accessed or access-tracks, and
/// nothing else). Records what the write leaves to flush.
/// </summary>
internal sealed partial class Checker
{
    public void OnSpteWrite(ulong sptep, ulong old, ulong spte, SpteWriter writer)
    {
        bool oldPresent = Spte.IsShadowPresent(old), present = Spte.IsShadowPresent(spte);
        if (present && _installedSet.Add(sptep)) _installed.Add(sptep);
        if (present != oldPresent) _rmapsChanged = true;
        if (present)
        {
            if (Spte.IsWritable(spte) && !Spte.IsMmuWritable(spte))
                throw Fail(Invariant.WritableBits, writer.ToString(), $"SPTE 0x{sptep:x} is W but not MMU-writable: {Spte.Describe(spte)}");
            if (Spte.IsMmuWritable(spte) && !Spte.IsHostWritable(spte))
                throw Fail(Invariant.WritableBits, writer.ToString(), $"SPTE 0x{sptep:x} is MMU-writable but not host-writable: {Spte.Describe(spte)}");
            if (oldPresent && Spte.ToPfn(old) != Spte.ToPfn(spte))
                throw Fail(Invariant.WritableBits, writer.ToString(), $"present SPTE 0x{sptep:x} changed pfn in place: {Spte.Describe(old)} -> {Spte.Describe(spte)}");
            if (oldPresent && Spte.IsHostWritable(old) != Spte.IsHostWritable(spte))
                throw Fail(Invariant.WritableBits, writer.ToString(), $"host-writable changed on present SPTE 0x{sptep:x}: {Spte.Describe(old)} -> {Spte.Describe(spte)}");
        }
        if (oldPresent && !present && !InObsoleteGeneration(sptep)) _pendingZapFlush = true;
        if (oldPresent && present && Spte.IsMmuWritable(old) && !Spte.IsMmuWritable(spte)) _pendingMmuWritableFlush = true;
        if (writer == SpteWriter.Age && spte != (old & ~Spte.Accessed) && spte != Spte.MarkForAccessTrack(old))
            throw Fail(Invariant.AgingHarmless, "aging", $"aging changed more than Accessed on SPTE 0x{sptep:x}: {Spte.Describe(old)} -> {Spte.Describe(spte)}");
    }
}
