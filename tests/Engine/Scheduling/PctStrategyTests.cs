using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Scheduling;
using Xunit;
using static Fuzz.Tests.Engine.Scheduling.ToyActors;

namespace Fuzz.Tests.Engine.Scheduling;

public class PctStrategyTests
{
    [Fact]
    public void The_same_seed_gives_the_same_run()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Cases, c =>
        {
            var a = Run(new Machine(Invariants), c.Points, new PctStrategy(c.Seed, 3, c.Points.Length, 20));
            var b = Run(new Machine(Invariants), c.Points, new PctStrategy(c.Seed, 3, c.Points.Length, 20));
            return a.SequenceEqual(b);
        }));
    }

    [Fact]
    public void Every_choice_is_in_range()
    {
        int[] ids = [0, 1, 2, 3];
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Choose(1, 6).ToArbitrary(), (seed, depth) =>
        {
            var s = new PctStrategy((ulong)seed, depth, ids.Length, 30);
            for (int step = 0; step < 60; step++)
            {
                int n = 1 + step % ids.Length;
                int c = s.Choose(ids.AsSpan(0, n), step % (n + 1) - 1, step);
                if (c < 0 || c >= n) return false;
            }
            return true;
        }));
    }

    [Fact]
    public void Depth_one_never_preempts_an_actor_that_can_run()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Cases, c =>
        {
            var m = new Machine(Invariants);
            var log = Run(m, c.Points, new PctStrategy(c.Seed, 1, c.Points.Length, 20));
            return m.Preemptions == 0 && Preemptions(log) == 0;
        }));
    }

    [Fact]
    public void Depth_d_changes_priorities_at_most_d_minus_one_times()
    {
        var gen = Gen.Zip(Cases.Generator, Gen.Choose(1, 6), (c, d) => (c.Points, c.Seed, Depth: d));
        int preempted = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var m = new Machine(Invariants);
            Run(m, c.Points, new PctStrategy(c.Seed, c.Depth, c.Points.Length, c.Points.Sum() + c.Points.Length));
            preempted += m.Preemptions;
            return m.Preemptions <= c.Depth - 1;
        }));
        Assert.True(preempted > 0);
    }
}
