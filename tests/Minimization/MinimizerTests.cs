using Fuzz.Engine.Crashes;
using Fuzz.Engine.Input;
using Fuzz.Engine.Minimization;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Fuzz.Tests.Model;
using Xunit;
using Xunit.Abstractions;

namespace Fuzz.Tests.Minimization;

/// <summary>
/// Each seeded variant's crash, from its corpus reproducer and from a random program under a random
/// schedule, shrinks to a small program that fails with the same key from its own choices.
/// </summary>
public class MinimizerTests
{
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(20);
    private const int SeedBound = 200_000;
    private readonly ITestOutputHelper _out;

    public MinimizerTests(ITestOutputHelper output) => _out = output;

    /// <summary>The seeded variants random programs find; lockless-reread-empty needs coverage guidance to reach.</summary>
    public static readonly TheoryData<string> Variants = new(Bugs.All.Select(b => b.Id).Where(b => b != Bugs.LocklessRereadEmpty.Id));

    /// <summary>The variants random programs under random schedules do not reach within the seed bound.</summary>
    public static readonly TheoryData<string> RandomlyFound = new(Bugs.All.Select(b => b.Id)
        .Where(b => b != Bugs.LocklessRereadEmpty.Id && b != Bugs.FastPfDirtyBeforeCmpxchg.Id));


    /// <summary>Threads each variant's scenario needs (see the scenarios in tests/Model).</summary>
    private static readonly Dictionary<string, int> ThreadsNeeded = new()
    {
        [Bugs.StaleFault.Id] = 2, [Bugs.RoUnlockEmpty.Id] = 2, [Bugs.LockedWalkerLockless.Id] = 2, [Bugs.TestAgeLeak.Id] = 1, [Bugs.YieldNoFlush.Id] = 1,
        [Bugs.LocklessRereadEmpty.Id] = 2, [Bugs.ChangePte.Id] = 2, [Bugs.FastPfDirtyBeforeCmpxchg.Id] = 2, [Bugs.MmioInFlux.Id] = 2,
        [Bugs.DirectSkipHash.Id] = 1,
    };

    /// <summary>The race the fuzzer found: its reproducer keeps its key and replays; the preemption count is reported, not bounded.</summary>
    [Fact]
    public void Lockless_reread_reproducer_keeps_its_key()
    {
        var bugs = new BugSet([Bugs.LocklessRereadEmpty.Id]);
        var crash = MmuTarget.Codec.Decode(File.ReadAllBytes(Path.Combine(Corpus.Dir, Bugs.LocklessRereadEmpty.Id + ".bin")));
        var result = new Minimizer(MmuTarget.Vocabulary, MmuRepro.Runner(bugs)).Minimize(crash, Budget);
        _out.WriteLine($"before: {result.Before}");
        _out.WriteLine($"after:  {result.After}");
        Assert.Equal(new CrashKey(7, "SimMemory", "test_young"), result.Key);
        var replay = MmuRepro.Runner(bugs)(result.Minimized, null);
        Assert.True(replay.Failed);
        Assert.Equal(result.Key, replay.Key);
        Assert.False(MmuRepro.Runner(BugSet.None)(result.Minimized, null).Failed);
    }

    [Theory]
    [MemberData(nameof(Variants))]
    public void Corpus_reproducer_shrinks(string bug) =>
        Shrinks(bug, MmuTarget.Codec.Decode(File.ReadAllBytes(Path.Combine(Corpus.Dir, bug + ".bin"))));

    [Theory]
    [MemberData(nameof(RandomlyFound))]
    public void Random_crash_shrinks(string bug) => Shrinks(bug, RandomCrash(new BugSet([bug])));

    /// <summary>The first random program (as the soak runner makes them) that breaks under its random schedule, with that schedule as its choices.</summary>
    private ProgramInput RandomCrash(BugSet bugs)
    {
        var runner = new MmuRunner(bugs);
        for (ulong s = 0; s < SeedBound; s++)
        {
            var p = ProgramGenerator.Random(MmuTarget.Vocabulary, s, 10, 0);
            var r = runner.Run(p, new RandomStrategy(s ^ 0x5eed5eed5eedUL));
            if (r.Violation is null) continue;
            _out.WriteLine($"random program seed {s}");
            return p.WithChoices(r.Schedule);
        }
        throw new InvalidOperationException($"no crash within {SeedBound} seeds");
    }

    private void Shrinks(string bug, ProgramInput crash)
    {
        var bugs = new BugSet([bug]);
        var result = new Minimizer(MmuTarget.Vocabulary, MmuRepro.Runner(bugs)).Minimize(crash, Budget);
        _out.WriteLine($"{bug}: key {result.Key}, {result.Executions} runs, {result.Elapsed.TotalMilliseconds:F0} ms{(result.TimedOut ? ", TIMED OUT" : "")}");
        _out.WriteLine($"  before: {result.Before}");
        _out.WriteLine($"  after:  {result.After}");
        _out.WriteLine(MmuTarget.Codec.Describe(result.Minimized));

        var original = MmuRepro.Runner(bugs)(crash, null);
        Assert.True(original.Failed);
        Assert.Equal(original.Key, result.Key);
        var replay = MmuRepro.Runner(bugs)(MmuTarget.Codec.Decode(MmuTarget.Codec.Encode(result.Minimized)), null);
        Assert.True(replay.Failed);
        Assert.Equal(result.Key, replay.Key);

        Assert.False(result.TimedOut);
        Assert.True(result.After.Ops <= result.Before.Ops);
        Assert.True(result.After.Threads <= result.Before.Threads);
        Assert.True(result.After.Preemptions <= 2, $"{result.After.Preemptions} preemptions");
        Assert.True(result.After.Threads <= ThreadsNeeded[bug] + 2, $"{result.After.Threads} threads");

        var again = new Minimizer(MmuTarget.Vocabulary, MmuRepro.Runner(bugs)).Minimize(crash, Budget);
        Assert.Equal(MmuTarget.Codec.Encode(result.Minimized), MmuTarget.Codec.Encode(again.Minimized));
    }
}
