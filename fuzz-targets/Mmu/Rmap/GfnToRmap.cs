namespace Fuzz.Targets.Mmu;

public sealed partial class Kvm
{
    private static int GfnLevelShift(int level) => (level - 1) * 9;

    /// <summary>gfn_to_rmap(): slot->arch.rmap[level - PG_LEVEL_4K][gfn_to_index(gfn, base_gfn, level)]. Slot fields are immutable once published.</summary>
    internal ulong GfnToRmap(ulong slot, ulong gfn, int level)
    {
        int shift = GfnLevelShift(level);
        ulong baseGfn = _mem.ReadConst(slot + SBaseGfn * 8);
        ulong array = _mem.ReadConst(slot + (ulong)(SRmap4K + level - 1) * 8);
        return array + (((gfn >> shift) - (baseGfn >> shift)) << 3);
    }
}
