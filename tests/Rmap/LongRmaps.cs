using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Mutation;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Fuzz.Tests.Model;
using Xunit;
using Op = Fuzz.Targets.Mmu.MmuTarget.Op;

namespace Fuzz.Tests.Rmap;

/// <summary>page_fault_aliases builds long rmaps: the pte_list_desc chain pte_list_add makes, and the leak check at quiescence.</summary>
public class LongRmaps
{
    private static ProgramInput OneThread(params OpCall[] ops) => new(1, 0, ops, []);

    private static OpCall Aliases(int gfn, int alias, int count) => new(0, (byte)Op.PageFaultAliases, 0, (byte)gfn, (byte)alias, (byte)(count - 1));

    /// <summary>pte_list_add's shape for n entries: the head holds what is left over, every tail is full, tail_count counts the descriptors after each.</summary>
    private static List<(int Count, int Tail)> KernelShape(int n)
    {
        var descs = new List<(int, int)>();
        if (n < 2) return descs;
        int tails = (n - 1) / PteListDesc.PteListExt;
        descs.Add((n - tails * PteListDesc.PteListExt, tails * PteListDesc.PteListExt));
        for (int t = tails - 1; t >= 0; t--) descs.Add((PteListDesc.PteListExt, t * PteListDesc.PteListExt));
        return descs;
    }

    [Theory]
    [InlineData(1), InlineData(2), InlineData(14), InlineData(15), InlineData(28), InlineData(29), InlineData(42), InlineData(43), InlineData(48)]
    public void Page_fault_aliases_builds_the_chain_pte_list_add_makes(int count)
    {
        var runner = new MmuRunner(BugSet.None);
        var r = runner.Run(OneThread(Aliases(gfn: 2, alias: 15, count)));
        Assert.Null(r.Violation);
        Assert.Equal(KernelShape(count), RmapReader.Descriptors(runner.Kvm, 0, 2));
    }

    [Fact]
    public void Faults_on_aliases_already_mapped_add_no_entries()
    {
        var runner = new MmuRunner(BugSet.None);
        var r = runner.Run(OneThread(Aliases(gfn: 1, alias: 0, count: 20), Aliases(gfn: 1, alias: 10, count: 20)));
        Assert.Null(r.Violation);
        Assert.Equal(KernelShape(30), RmapReader.Descriptors(runner.Kvm, 0, 1));
    }

    [Fact]
    public void A_descriptor_no_rmap_reaches_is_a_leak_at_quiescence()
    {
        var runner = new MmuRunner(BugSet.None);
        Assert.Null(runner.Run(OneThread(Aliases(gfn: 3, alias: 0, count: 20))).Violation);
        var kvm = runner.Kvm;
        Assert.Equal(2, RmapReader.Descriptors(kvm, 0, 3).Count);
        kvm.CheckQuiescent();

        // Unlink the head descriptor without freeing it, as a remove that empties the head and forgets
        // mmu_free_pte_list_desc() would; the tail alone is a well-formed chain of 14.
        ulong head = RmapReader.Head(kvm, 0, 3);
        ulong headDesc = kvm.Mem.Peek(head) & ~Kvm.KvmRmapMany;
        ulong tail = kvm.Mem.Peek(headDesc + PteListDesc.More * 8);
        for (int i = 0; i < 6; i++)
        {
            ulong sptep = kvm.Mem.Peek(headDesc + (ulong)(PteListDesc.Sptes + i) * 8);
            kvm.Mem.Write(sptep, 0);
        }
        kvm.Mem.Write(head, tail | Kvm.KvmRmapMany);
        var v = Assert.Throws<InvariantViolation>(kvm.CheckQuiescent);
        Assert.Equal((int)Invariant.DescShape, v.Id);
        Assert.Contains($"pte_list_desc 0x{headDesc:x} is allocated but no rmap reaches it", v.Detail);
    }

    /// <summary>
    /// corpus/mmu/rmap-tail.bin: 40 aliases of gfn 2 while shadow pages 3 and 7 are zapped out of the
    /// oldest tail, the gfn is aged and test-aged, dirty logging write-protects the slot, alias 3 faults
    /// back and 30 more aliases (15..44) fault in; 45 aliases less alias 7 stay mapped.
    /// </summary>
    [Fact]
    public void Rmap_tail_seed_ends_with_four_descriptors_and_is_clean()
    {
        var runner = new MmuRunner(BugSet.None);
        var r = runner.Run(MmuTarget.Codec.Decode(File.ReadAllBytes(Path.Combine(Corpus.Dir, "rmap-tail.bin"))));
        Assert.True(r.Violation is null, r.Violation?.Message);
        var descs = RmapReader.Descriptors(runner.Kvm, 0, 2);
        Assert.True(descs.Count >= 3, $"{descs.Count} descriptors");
        Assert.Equal(KernelShape(44), descs);
    }

    /// <summary>Argument mutation walks the count over its whole domain, so every descriptor boundary is a mutation away.</summary>
    [Fact]
    public void Argument_mutation_reaches_every_count()
    {
        var m = new ProgramMutator(MmuTarget.Vocabulary);
        var seen = new HashSet<int>();
        byte[] input = MmuTarget.Codec.Encode(OneThread(Aliases(gfn: 0, alias: 0, count: 1)));
        var rng = new SplitMix64(1);
        for (int i = 0; i < 10_000 && seen.Count < Kvm.MaxAliasFaults; i++)
        {
            Assert.True(m.TryMutate(MutationKind.ChangeArg, input, [], ref rng, out var next));
            input = next;
            seen.Add(MmuTarget.Codec.Decode(input).Ops[0].A3 + 1);
        }
        Assert.Equal(Enumerable.Range(1, Kvm.MaxAliasFaults), seen.Order());
    }
}
