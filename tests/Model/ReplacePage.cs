using Fuzz.Engine.Input;
using Fuzz.Targets.Mmu;
using Xunit;
using Op = Fuzz.Targets.Mmu.MmuTarget.Op;

namespace Fuzz.Tests.Model;

/// <summary>
/// replace_page() on one thread: the host PTE moves to a new write-protected page and the old page is
/// freed; the kernel's code zaps the SPTE inside the invalidate bracket, the change-pte variant points
/// it at the new page in place; a later write breaks COW onto a third page.
/// </summary>
public class ReplacePage
{
    private const int Gfn = 5;

    private static Kvm Run(BugSet bugs, params OpCall[] ops)
    {
        var runner = new MmuRunner(bugs);
        var r = runner.Run(new ProgramInput(1, 0, ops, []));
        Assert.True(r.Violation is null, r.Violation?.Message);
        return runner.Kvm;
    }

    private static ulong HostPteOf(Kvm kvm) => kvm.Mem.Peek(kvm.HostPteAddr(Kvm.HvaBase + Gfn));

    private static ulong SpteOf(Kvm kvm) => kvm.Mem.Peek(kvm.SpteAddr(0, Gfn));

    private static readonly OpCall WriteFault = Scenarios.Call(0, Op.PageFault, 0, Gfn, 1, 0);
    private static readonly OpCall Replace = Scenarios.Call(0, Op.ReplacePage, 0, Gfn);

    [Fact]
    public void Kernel_code_zaps_the_spte_and_maps_a_new_write_protected_page()
    {
        ulong oldPfn = HostPte.Pfn(HostPteOf(Run(BugSet.None, WriteFault)));
        var kvm = Run(BugSet.None, WriteFault, Replace);
        ulong pte = HostPteOf(kvm);
        Assert.NotEqual(oldPfn, HostPte.Pfn(pte));
        Assert.Equal(0UL, pte & HostPte.Writable);
        Assert.True(kvm.Pfns[(int)oldPfn].HasFlag(Kvm.PfnState.Freed));
        Assert.False(Spte.IsShadowPresent(SpteOf(kvm)));
    }

    [Fact]
    public void Change_pte_points_the_present_spte_at_the_new_page_read_only()
    {
        var kvm = Run(new BugSet([Bugs.ChangePte.Id]), WriteFault, Replace);
        ulong spte = SpteOf(kvm);
        Assert.True(Spte.IsShadowPresent(spte));
        Assert.Equal(HostPte.Pfn(HostPteOf(kvm)), Spte.ToPfn(spte));
        Assert.False(Spte.IsWritable(spte) || Spte.IsHostWritable(spte));
    }

    [Fact]
    public void A_write_to_the_merged_page_breaks_cow_onto_a_new_writable_page()
    {
        var merged = Run(BugSet.None, WriteFault, Replace, Scenarios.Call(0, Op.GuestAccess, 0, Gfn, 0, 0));
        ulong kpfn = HostPte.Pfn(HostPteOf(merged));
        Assert.Equal(kpfn, Spte.ToPfn(SpteOf(merged)));

        var kvm = Run(BugSet.None, WriteFault, Replace, Scenarios.Call(0, Op.GuestAccess, 0, Gfn, 0, 0), Scenarios.Call(0, Op.GuestAccess, 0, Gfn, 1, 0));
        ulong pte = HostPteOf(kvm);
        Assert.NotEqual(kpfn, HostPte.Pfn(pte));
        Assert.NotEqual(0UL, pte & HostPte.Writable);
        Assert.Equal(HostPte.Pfn(pte), Spte.ToPfn(SpteOf(kvm)));
        Assert.True(Spte.IsWritable(SpteOf(kvm)));
    }
}
