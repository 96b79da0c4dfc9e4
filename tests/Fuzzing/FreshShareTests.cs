using Fuzz.Engine.Fuzzing;
using Xunit;

namespace Fuzz.Tests.Fuzzing;

public sealed class FreshShareTests
{
    [Fact]
    public void Starts_even()
    {
        Assert.Equal(0.5, FreshShare.Start.Fresh, 6);
    }

    [Fact]
    public void Fresh_programs_that_keep_finding_get_most_executions()
    {
        var s = FreshShare.Start;
        for (int i = 0; i < 2000; i++)
        {
            s.Record(fresh: true, yielded: i % 2 == 0);
            s.Record(fresh: false, yielded: i % 50 == 0);
        }
        Assert.True(s.Fresh > 0.8, $"share {s.Fresh}");
        Assert.True(s.Fresh <= FreshShare.Max);
    }

    [Fact]
    public void Mutation_takes_over_when_fresh_programs_stop_finding()
    {
        var s = FreshShare.Start;
        for (int i = 0; i < 2000; i++) s.Record(fresh: true, yielded: true);
        for (int i = 0; i < 20000; i++)
        {
            s.Record(fresh: true, yielded: false);
            s.Record(fresh: false, yielded: i % 10 == 0);
        }
        Assert.Equal(FreshShare.Min, s.Fresh, 6);
    }

    [Fact]
    public void Neither_finding_leaves_the_floor()
    {
        var s = FreshShare.Start;
        for (int i = 0; i < 50000; i++) { s.Record(true, false); s.Record(false, false); }
        Assert.InRange(s.Fresh, FreshShare.Min, FreshShare.Max);
    }
}
