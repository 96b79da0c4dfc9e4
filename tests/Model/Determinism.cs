using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Model;

public class Determinism
{
    /// <summary>10^4 random inputs: two runs give the same trace, event hash, schedule and verdict.</summary>
    [Fact]
    public void Same_input_gives_same_trace_events_and_verdict()
    {
        var a = new MmuRunner(BugSet.None) { Tracing = true };
        var b = new MmuRunner(BugSet.None) { Tracing = true };
        var rng = new SplitMix64(42);
        for (int i = 0; i < 10_000; i++)
        {
            var bytes = new byte[8 + rng.Below(200)];
            for (int k = 0; k < bytes.Length; k++) bytes[k] = (byte)rng.Next();
            var p = MmuTarget.Codec.Decode(bytes);
            var x = a.Run(p);
            var y = b.Run(MmuTarget.Codec.Decode(bytes));
            Assert.Equal(x.Steps, y.Steps);
            Assert.Equal(x.EventHash, y.EventHash);
            Assert.Equal(x.Schedule, y.Schedule);
            Assert.Equal(x.Trace, y.Trace);
            Assert.Equal(x.Violation?.Id, y.Violation?.Id);
            Assert.Equal(x.Violation?.Detail, y.Violation?.Detail);
        }
    }

    /// <summary>A random or PCT run replays exactly from its recorded choice stream.</summary>
    [Fact]
    public void Strategy_runs_replay_from_their_recorded_choices()
    {
        var runner = new MmuRunner(new BugSet([Bugs.YieldNoFlush.Id]));
        for (ulong seed = 1; seed <= 2_000; seed++)
        {
            var p = ProgramGenerator.Random(MmuTarget.Vocabulary, seed, 10, 0);
            IScheduleStrategy s = seed % 2 == 0 ? new RandomStrategy(seed) : new PctStrategy(seed, 2, p.Threads, 150);
            var first = runner.Run(p, s);
            var replay = runner.Run(MmuTarget.Codec.Decode(MmuTarget.Codec.Encode(p.WithChoices(first.Schedule))));
            Assert.Equal(first.EventHash, replay.EventHash);
            Assert.Equal(first.Steps, replay.Steps);
            Assert.Equal(first.Violation?.Detail, replay.Violation?.Detail);
        }
    }
}
