using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Scheduling;
using Xunit;

namespace Fuzz.Tests.Engine.Scheduling;

public class SplitMix64Tests
{
    [Fact]
    public void Gives_the_reference_sequence()
    {
        var zero = new SplitMix64(0);
        Assert.Equal(0xe220a8397b1dcdafUL, zero.Next());
        var rng = new SplitMix64(1234567);
        Assert.Equal([6457827717110365317UL, 3203168211198807973UL, 9817491932198370423UL, 4593380528125082431UL, 16408922859458223821UL],
            Enumerable.Range(0, 5).Select(_ => rng.Next()).ToArray());
    }

    [Fact]
    public void Below_n_is_in_range_and_reaches_every_value()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Choose(1, 16).ToArbitrary(), (seed, n) =>
        {
            var rng = new SplitMix64((ulong)seed);
            var seen = new HashSet<int>();
            for (int i = 0; i < 400; i++)
            {
                int v = rng.Below(n);
                if (v < 0 || v >= n) return false;
                seen.Add(v);
            }
            return seen.Count == n;
        }));
    }
}
