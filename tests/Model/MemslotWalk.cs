using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Model;

/// <summary>kvm_for_each_memslot(): the memslots in id order, empty ids skipped, the same whether read as an access or around the scheduler.</summary>
public class MemslotWalk
{
    private static (Kvm Kvm, Machine Machine) CreateVm()
    {
        var machine = new Machine(MmuTarget.Runtime);
        var kvm = new Kvm(machine, BugSet.None);
        kvm.Init(adEnabled: true, reschedQuantum: 64);
        return (kvm, machine);
    }

    private static List<(int Id, ulong Slot)> Walk(MemslotIterator it)
    {
        var seen = new List<(int, ulong)>();
        foreach (var s in it) seen.Add(s);
        return seen;
    }

    [Fact]
    public void Visits_the_slots_the_vm_was_created_with_in_id_order()
    {
        var (kvm, machine) = CreateVm();
        var mem = machine.Memory;
        ulong slots = mem.Peek(kvm.MemslotsAddr);
        var read = Walk(MemslotIterator.Read(mem, slots));
        Assert.Equal([0, 1], read.Select(s => s.Id));
        foreach (var (id, slot) in read) Assert.Equal(Kvm.SlotBaseGfn(id), mem.Peek(slot + Kvm.SBaseGfn * 8));
        Assert.Equal(read, Walk(MemslotIterator.Peek(mem, slots)));
        Assert.Equal(read, Walk(kvm.ForEachMemslot(slots)));
    }

    [Fact]
    public void Skips_an_empty_id()
    {
        var (kvm, machine) = CreateVm();
        var mem = machine.Memory;
        ulong slots = mem.Peek(kvm.MemslotsAddr);
        ulong slot1 = mem.Peek(slots + 2 * 8);
        mem.Write(slots + 1 * 8, 0);
        Assert.Equal([(1, slot1)], Walk(MemslotIterator.Peek(mem, slots)));
        mem.Write(slots + 2 * 8, 0);
        Assert.Empty(Walk(MemslotIterator.Read(mem, slots)));
    }
}
