using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Scheduling;
using Xunit;

namespace Fuzz.Tests.Engine.Scheduling;

public class RandomStrategyTests
{
    private static readonly int[] Ids = Enumerable.Range(0, 8).ToArray();

    private static int[] Choices(IScheduleStrategy s, int count, int runnable) =>
        Enumerable.Range(0, count).Select(i => s.Choose(Ids.AsSpan(0, runnable), i % runnable, i)).ToArray();

    [Fact]
    public void The_same_seed_makes_the_same_choices_and_every_choice_is_in_range()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Choose(1, 8).ToArbitrary(), (seed, n) =>
        {
            var a = Choices(new RandomStrategy((ulong)seed), 200, n);
            var b = Choices(new RandomStrategy((ulong)seed), 200, n);
            return a.SequenceEqual(b) && a.All(c => c >= 0 && c < n);
        }));
    }

    [Fact]
    public void Different_seeds_make_different_choices_and_reach_every_actor()
    {
        var a = Choices(new RandomStrategy(1), 200, 4);
        var b = Choices(new RandomStrategy(2), 200, 4);
        Assert.NotEqual(a, b);
        Assert.Equal([0, 1, 2, 3], a.Distinct().Order());
    }
}
