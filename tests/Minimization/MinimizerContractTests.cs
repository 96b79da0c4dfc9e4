using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Minimization;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Fuzz.Tests.Model;
using Xunit;

namespace Fuzz.Tests.Minimization;

/// <summary>The minimiser's promises on a toy target whose failures depend only on which operations a program has.</summary>
public class MinimizerContractTests
{
    private static readonly Vocabulary Toy = new([new("a", "", new ArgSpec("x", 10)), new("b", ""), new("c", "")], 4);

    /// <summary>Fails with key A when the program has an "a" with x &gt;= 3 and a "b"; with key B when it has a "b" and no "a".</summary>
    private static ExecResult RunToy(ProgramInput p, IScheduleStrategy? strategy)
    {
        bool a = p.Ops.Any(o => o.Op == 0 && o.A0 >= 3), anyA = p.Ops.Any(o => o.Op == 0), b = p.Ops.Any(o => o.Op == 1);
        var key = a && b ? KeyA : b && !anyA ? KeyB : null;
        var violation = key is null ? null : new InvariantViolation(key.Invariant, "toy", "toy failure") { Site = key.Site };
        return new ExecResult(violation, p.Ops.Length, [], 0, 0);
    }

    private static readonly CrashKey KeyA = new(1, "A"), KeyB = new(2, "B");

    private static OpCall Call(int thread, int op, int x = 0) => new((byte)thread, (byte)op, (byte)x, 0, 0, 0);

    [Fact]
    public void Keeps_the_key_even_where_another_failure_is_smaller()
    {
        var crash = new ProgramInput(3, 5, [Call(2, 2), Call(0, 0, 7), Call(1, 2), Call(2, 1), Call(0, 2)], [1, 2, 3]);
        var r = new Minimizer(Toy, RunToy).Minimize(crash, TimeSpan.FromSeconds(20));
        Assert.Equal(KeyA, r.Key);
        Assert.Equal([Call(0, 0, 3), Call(0, 1)], r.Minimized.Ops);
        Assert.Equal(1, r.Minimized.Threads);
        Assert.Equal(0, r.Minimized.Config);
        Assert.Empty(r.Minimized.Choices);
        Assert.Equal(KeyA, RunToy(r.Minimized, null).Key);
        Assert.False(r.TimedOut);
    }

    [Fact]
    public void A_program_that_does_not_fail_is_refused()
    {
        var clean = new ProgramInput(1, 0, [Call(0, 2)], []);
        Assert.Throws<ArgumentException>(() => new Minimizer(Toy, RunToy).Minimize(clean, TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void Out_of_budget_or_cancelled_gives_a_program_that_still_fails()
    {
        var bugs = new BugSet([Bugs.StaleFault.Id]);
        var crash = MmuTarget.Codec.Decode(File.ReadAllBytes(Path.Combine(Corpus.Dir, "stale-fault.bin")));
        var key = MmuRepro.Runner(bugs)(crash, null).Key;
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        foreach (var r in new[]
        {
            new Minimizer(MmuTarget.Vocabulary, MmuRepro.Runner(bugs)).Minimize(crash, TimeSpan.Zero),
            new Minimizer(MmuTarget.Vocabulary, MmuRepro.Runner(bugs)).Minimize(crash, TimeSpan.FromSeconds(20), cancelled.Token),
        })
        {
            Assert.True(r.TimedOut);
            Assert.Equal(key, r.Key);
            var replay = MmuRepro.Runner(bugs)(r.Minimized, null);
            Assert.True(replay.Failed);
            Assert.Equal(key, replay.Key);
        }
    }
}
