using Fuzz.Engine.Invariants;
using Fuzz.Engine.Memory;
using Xunit;

namespace Fuzz.Tests.Engine.Memory;

public class SimMemoryTests
{
    private static readonly RuntimeInvariants Invariants = new(7, "safe free", 9, "liveness");

    private static InvariantViolation Fault(Action access)
    {
        var v = Assert.Throws<InvariantViolation>(access);
        Assert.Equal(Invariants.SafeFreeId, v.Id);
        Assert.Equal(Invariants.SafeFreeName, v.InvariantName);
        Assert.Equal(nameof(SimMemory), v.Site);
        Assert.True(v.RuntimeDetector);
        return v;
    }

    [Fact]
    public void Objects_are_allocated_back_to_back_zeroed_and_never_reused()
    {
        var mem = new SimMemory(Invariants);
        ulong a = mem.Alloc(3, 1, "a"), b = mem.Alloc(2, 2, "b");
        Assert.Equal(SimMemory.Base, a);
        Assert.Equal(a + 3 * 8, b);
        Assert.Equal(0UL, mem.Read(a + 16));
        mem.Free(a);
        Assert.Equal(b + 2 * 8, mem.Alloc(1, 1));
        Assert.Equal(new SimMemory.ObjectInfo(3, 2, 2, true, "b"), mem.ObjectAt(b + 8));
        Assert.Equal(new SimMemory.ObjectInfo(0, 3, 1, false, "a"), mem.ObjectAt(a + 8));
    }

    [Fact]
    public void Memory_grows_past_its_first_block()
    {
        var mem = new SimMemory(Invariants);
        var ptrs = Enumerable.Range(0, 100).Select(i => mem.Alloc(100, 0)).ToArray();
        for (int i = 0; i < ptrs.Length; i++) mem.Write(ptrs[i] + 99 * 8, (ulong)i);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (ulong)i), ptrs.Select(p => mem.Read(p + 99 * 8)));
    }

    [Fact]
    public void Reads_writes_and_atomics_act_on_one_word_and_return_the_old_value()
    {
        var mem = new SimMemory(Invariants);
        ulong p = mem.Alloc(2, 0);
        mem.Write(p, 0b1100);
        Assert.Equal(0b1100UL, mem.Read(p));
        Assert.Equal(0b1100UL, mem.FetchOr(p, 0b0011));
        Assert.Equal(0b1111UL, mem.FetchAnd(p, 0b0110));
        Assert.Equal(0b0110UL, mem.FetchAdd(p, -2));
        Assert.Equal(0b0100UL, mem.Exchange(p, 9));
        Assert.Equal(9UL, mem.CompareExchange(p, 8, 1));
        Assert.Equal(9UL, mem.ReadConst(p));
        Assert.Equal(9UL, mem.CompareExchange(p, 9, 1));
        Assert.Equal(1UL, mem.Read(p));
        Assert.Equal(0UL, mem.Read(p + 8));
    }

    [Fact]
    public void Every_access_after_free_is_a_use_after_free()
    {
        var mem = new SimMemory(Invariants);
        ulong p = mem.Alloc(4, 3, "page");
        mem.Free(p);
        Action[] accesses =
        [
            () => mem.Read(p + 8), () => mem.ReadConst(p + 8), () => mem.Write(p + 8, 1), () => mem.Exchange(p + 8, 1),
            () => mem.CompareExchange(p + 8, 0, 1), () => mem.FetchAnd(p + 8, 1), () => mem.FetchOr(p + 8, 1), () => mem.FetchAdd(p + 8, 1),
        ];
        foreach (var access in accesses)
        {
            var v = Fault(access);
            Assert.StartsWith("use after free", v.Detail);
            Assert.Contains("word 1 of freed object #1 (page)", v.Detail);
        }
        Assert.Contains("use after free: write of", Fault(() => mem.Write(p, 1)).Detail);
    }

    [Fact]
    public void Double_free_and_free_inside_an_object_are_faults()
    {
        var mem = new SimMemory(Invariants);
        ulong p = mem.Alloc(2, 0, "x");
        Assert.Contains("not its start", Fault(() => mem.Free(p + 8)).Detail);
        mem.Free(p);
        Assert.StartsWith("double free of object #1 (x)", Fault(() => mem.Free(p)).Detail);
    }

    [Fact]
    public void Pointers_outside_the_allocated_words_are_wild()
    {
        var mem = new SimMemory(Invariants);
        ulong p = mem.Alloc(2, 0);
        foreach (ulong wild in new[] { 0UL, SimMemory.Base - 8, p + 3, p + 16, ulong.MaxValue })
        {
            Assert.StartsWith("wild pointer: read of", Fault(() => mem.Read(wild)).Detail);
            Assert.StartsWith("wild pointer: free of", Fault(() => mem.Free(wild)).Detail);
            Assert.False(mem.IsLive(wild));
        }
    }

    [Fact]
    public void Freed_words_are_poisoned()
    {
        var mem = new SimMemory(Invariants);
        ulong p = mem.Alloc(3, 0);
        mem.Write(p + 8, 42);
        Assert.True(mem.IsLive(p + 8));
        mem.Free(p);
        for (int w = 0; w < 3; w++)
        {
            Assert.Equal(SimMemory.Poison, mem.Peek(p + (ulong)w * 8));
            Assert.False(mem.IsLive(p + (ulong)w * 8));
        }
    }

    [Fact]
    public void Peek_is_not_a_checked_access()
    {
        var mem = new SimMemory(Invariants);
        ulong p = mem.Alloc(1, 0);
        mem.Write(p, 5);
        Assert.Equal(5UL, mem.Peek(p));
        Assert.Equal(0UL, mem.Peek(p + 8));
        Assert.Equal(0UL, mem.Peek(0));
        mem.Free(p);
        Assert.Equal(SimMemory.Poison, mem.Peek(p));
    }

    [Fact]
    public void Reset_forgets_every_object()
    {
        var mem = new SimMemory(Invariants);
        ulong p = mem.Alloc(5, 0);
        mem.Write(p, 3);
        mem.Free(mem.Alloc(2, 0));
        mem.Reset();
        Assert.StartsWith("wild pointer", Fault(() => mem.Read(p)).Detail);
        ulong q = mem.Alloc(7, 1, "again");
        Assert.Equal(SimMemory.Base, q);
        Assert.Equal(0UL, mem.Read(q));
        Assert.Equal(0UL, mem.Read(q + 6 * 8));
        Assert.Equal(new SimMemory.ObjectInfo(0, 7, 1, true, "again"), mem.ObjectAt(q));
    }
}
