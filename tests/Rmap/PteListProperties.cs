using FsCheck;
using FsCheck.Fluent;
using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Rmap;

/// <summary>pte_list_add / pte_list_remove against a plain set, with the descriptor shape rules of mmu-model.md §2.</summary>
public class PteListProperties
{
    private const int Sptes = 48;

    private static bool Holds(int[] script)
    {
        var h = new PteListHarness(Sptes);
        var model = new List<int>();
        var ops = new List<(bool Add, int Spte)>();
        var expectedCounts = new List<int>();
        bool many = false;
        foreach (int x in script)
        {
            int s = (int)((uint)x % Sptes);
            if (model.Contains(s) || (x % 3 == 0 && model.Count > 0))
            {
                int victim = model.Contains(s) ? s : model[(int)((uint)x % model.Count)];
                model.Remove(victim);
                ops.Add((false, victim));
            }
            else
            {
                expectedCounts.Add(model.Count);
                model.Add(s);
                ops.Add((true, s));
            }
            if (model.Count >= 2) many = true;
            if (model.Count == 0) many = false;
        }
        var counts = h.Apply(ops);
        if (!counts.SequenceEqual(expectedCounts)) return false;

        var (entries, descs) = h.Walk();
        var want = model.Select(i => h.SptePointer(i)).Order().ToList();
        if (!entries.Order().SequenceEqual(want)) return false;

        ulong head = h.HeadValue;
        if ((head & Kvm.KvmRmapLocked) != 0) return false;
        if (model.Count == 0) return head == 0;
        if (((head & Kvm.KvmRmapMany) != 0) != many) return false;
        if (!many) return descs.Count == 0 && entries.Count == 1;
        for (int i = 0; i < descs.Count; i++)
        {
            bool isHead = i == 0;
            if (isHead ? descs[i].Count is < 1 or > 14 : descs[i].Count != 14) return false;
            if (descs[i].Tail != descs.Skip(i + 1).Sum(d => d.Count)) return false;
        }
        return true;
    }

    [Fact]
    public void Add_and_remove_agree_with_a_set_and_keep_the_descriptor_shape()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500),
            Prop.ForAll(ArbMap.Default.ArbFor<int[]>(), script => Holds(script)));
    }

    [Fact]
    public void Long_sequences_cross_descriptor_boundaries()
    {
        var gen = Gen.ArrayOf(Gen.Choose(-1000, 1000)).Resize(120);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(200), Prop.ForAll(gen.ToArbitrary(), script => Holds(script)));
    }

    [Fact]
    public void Fifteen_adds_prepend_a_head_before_a_full_tail()
    {
        var h = new PteListHarness(Sptes);
        h.Apply(Enumerable.Range(0, 15).Select(i => (true, i)));
        var (entries, descs) = h.Walk();
        Assert.Equal(15, entries.Count);
        Assert.Equal([(1, 14), (14, 0)], descs);
    }

    [Fact]
    public void The_checkers_descriptor_walk_visits_the_chain_pte_list_add_built()
    {
        var h = new PteListHarness(Sptes);
        Assert.Empty(h.CheckerDescs());
        h.Apply([(true, 0)]);
        Assert.Empty(h.CheckerDescs());
        h.Apply(Enumerable.Range(1, 31).Select(i => (true, i)));
        Assert.Equal([(4, 28), (14, 14), (14, 0)], h.CheckerDescs());
        Assert.Equal(h.Walk().Descs, h.CheckerDescs());
    }
}
