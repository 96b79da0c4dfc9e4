using Fuzz.Engine.Input;
using Fuzz.Targets.Mmu;
using Xunit;
using Op = Fuzz.Targets.Mmu.MmuTarget.Op;

namespace Fuzz.Tests.Model;

/// <summary>
/// MMIO SPTEs on one thread: a gfn no memslot maps gets an MMIO SPTE of the current generation; once a
/// memslot maps it the SPTE is stale and the next access faults the page in; a generation wrap in
/// either address space zaps every MMIO SPTE.
/// </summary>
public class Mmio
{
    private const int Slot = 2, Offset = 1;
    private static readonly ulong Gfn = Kvm.GfnOf(Slot, Offset);

    private static Kvm Run(params OpCall[] ops)
    {
        var runner = new MmuRunner(BugSet.None);
        var r = runner.Run(new ProgramInput(1, 0, ops, []));
        Assert.True(r.Violation is null, r.Violation?.Message);
        return runner.Kvm;
    }

    private static ulong SpteOf(Kvm kvm) => kvm.Mem.Peek(kvm.SpteAddr(0, Gfn));

    private static readonly OpCall Access = Scenarios.Call(0, Op.MmioAccess, Slot, Offset, 0, 1);
    private static OpCall Toggle => Scenarios.Call(0, Op.SmmMemslotToggle, 0);

    [Fact]
    public void A_fault_on_a_gfn_without_memslot_installs_an_mmio_spte_of_the_generation_and_caches_it()
    {
        var kvm = Run(Access);
        ulong spte = SpteOf(kvm);
        Assert.True(MmioSpte.IsMmio(spte));
        Assert.False(Spte.IsShadowPresent(spte));
        Assert.Equal(Gfn, MmioSpte.Gfn(spte));
        Assert.Equal(0UL, MmioSpte.Generation(spte));
        Assert.Equal(Gfn, kvm.Vcpus[0].MmioGfn);
    }

    [Fact]
    public void Once_a_memslot_maps_the_gfn_the_mmio_spte_is_stale_and_the_access_faults_the_page_in()
    {
        var kvm = Run(Access, Scenarios.Call(0, Op.MemslotCreate, Slot), Access);
        Assert.True(Spte.IsShadowPresent(SpteOf(kvm)));
    }

    [Fact]
    public void A_generation_wrap_in_the_other_address_space_zaps_the_mmio_sptes()
    {
        // Address space 1 starts at generation 1; create, delete, create, ... are 1, 2, 1, ... swaps of +2 each.
        // Seven swaps reach 15 (no wrap: 15 & 0xe != 0), the eighth 17, which wraps the four bits an MMIO SPTE keeps.
        var before = Run(Access, Toggle, Toggle, Toggle, Toggle, Toggle);
        Assert.True(MmioSpte.IsMmio(SpteOf(before)));
        var after = Run(Access, Toggle, Toggle, Toggle, Toggle, Toggle, Toggle);
        Assert.Equal(0UL, SpteOf(after));
    }
}
