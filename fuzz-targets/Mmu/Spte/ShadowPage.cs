using Fuzz.Engine.Memory;

namespace Fuzz.Targets.Mmu;

/// <summary>struct kvm_mmu_page in simulated memory: gfn and role, immutable once published, then the SPTEs.</summary>
internal static class ShadowPage
{
    public const int Gfn = 0, Role = 1, Sptes = 2, Words = 2 + 512;
}

public sealed partial class Kvm
{
    /// <summary>kvm_mmu_page for (alias, region): role and gfn immutable, then 512 SPTEs.</summary>
    internal ulong SpteAddr(int alias, ulong gfn, bool create)
    {
        int region = (int)(gfn / PagesPerHpage2M);
        int key = alias * MaxSlots + region;
        ulong sp = _sp[key];
        if (sp == 0)
        {
            if (!create) return 0;
            sp = _mem.Alloc(ShadowPage.Words, ObjShadowPage, Labels.ShadowPage[key]);
            _mem.Write(sp + ShadowPage.Gfn * 8, gfn & ~(ulong)(PagesPerHpage2M - 1));
            _mem.Write(sp + ShadowPage.Role * 8, 1UL | ((ulong)alias << 4));
            _sp[key] = sp;
        }
        return sp + (ulong)(ShadowPage.Sptes + (int)(gfn % PagesPerHpage2M)) * 8;
    }

    /// <summary>The shadow page, gfn and level an SPTE pointer belongs to (sptep_to_sp + kvm_mmu_page_get_gfn).</summary>
    internal (ulong Sp, ulong Gfn, int Level, int Alias) SpteInfo(ulong sptep)
    {
        var o = _mem.ObjectAt(sptep);
        ulong sp = SimMemory.Base + ((ulong)o.FirstWord << 3);
        int index = (int)((sptep - sp) >> 3) - ShadowPage.Sptes;
        ulong role = _mem.ReadConst(sp + ShadowPage.Role * 8);
        return (sp, _mem.ReadConst(sp + ShadowPage.Gfn * 8) + (ulong)index, (int)(role & 0xf), (int)(role >> 4));
    }
}
