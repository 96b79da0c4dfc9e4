using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Scheduling;
using Xunit;

namespace Fuzz.Tests.Engine.Scheduling;

public class InputStrategyTests
{
    private static readonly int[] Ids = Enumerable.Range(0, 64).ToArray();

    [Fact]
    public void Each_choice_is_the_next_byte_modulo_the_runnable_count()
    {
        var gen = Gen.Zip(Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b)), Gen.Choose(1, 64), (b, n) => (Bytes: b, Runnable: n));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var s = new InputStrategy(c.Bytes);
            return c.Bytes.Select((b, i) => s.Choose(Ids.AsSpan(0, c.Runnable), -1, i) == b % c.Runnable).All(ok => ok);
        }));
    }

    [Fact]
    public void Once_the_stream_runs_out_the_running_actor_keeps_running()
    {
        var s = new InputStrategy([7]);
        Assert.Equal(1, s.Choose(Ids.AsSpan(0, 3), 2, 0));
        Assert.Equal(2, s.Choose(Ids.AsSpan(0, 3), 2, 1));
        Assert.Equal(1, s.Choose(Ids.AsSpan(0, 4), 1, 2));
        Assert.Equal(0, s.Choose(Ids.AsSpan(0, 4), -1, 3));
    }

    [Fact]
    public void An_empty_stream_runs_each_actor_to_its_end_in_id_order()
    {
        var m = new Machine(ToyActors.Invariants);
        var log = ToyActors.Run(m, [2, 0, 3], new InputStrategy([]));
        Assert.Equal([0, 0, 0, 1, 2, 2, 2, 2], log);
        Assert.Equal(0, m.Preemptions);
    }
}
