using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Model;

/// <summary>A variant is one record: its id names it on the command line, its position is its bit in a BugSet.</summary>
public class Variants
{
    [Fact]
    public void Each_variant_has_its_own_id_and_its_position_as_index()
    {
        Assert.Equal(Bugs.All.Count, Bugs.All.Select(b => b.Id).Distinct().Count());
        for (int i = 0; i < Bugs.All.Count; i++)
        {
            Assert.Equal(i, Bugs.All[i].Index);
            Assert.Same(Bugs.All[i], Bugs.Find(Bugs.All[i].Id));
            Assert.True(Invariants.Names.ContainsKey(Bugs.All[i].Invariant));
        }
        Assert.Null(Bugs.Find("no-such-bug"));
    }

    [Fact]
    public void A_set_has_exactly_the_variants_named_and_lists_them_sorted()
    {
        var set = new BugSet([Bugs.YieldNoFlush.Id, Bugs.StaleFault.Id, Bugs.YieldNoFlush.Id]);
        foreach (var b in Bugs.All) Assert.Equal(b == Bugs.YieldNoFlush || b == Bugs.StaleFault, set.Has(b));
        Assert.Equal([Bugs.StaleFault.Id, Bugs.YieldNoFlush.Id], set.Ids);
        Assert.All(Bugs.All, b => Assert.False(BugSet.None.Has(b)));
        Assert.Empty(BugSet.None.Ids);
    }

    [Fact]
    public void An_unknown_id_is_refused_with_a_pointer_to_the_list()
    {
        var e = Assert.Throws<ArgumentException>(() => new BugSet([Bugs.StaleFault.Id, "stale-faults"]));
        Assert.Equal("unknown bug variant 'stale-faults' (see `fuzz targets`)", e.Message);
    }
}
