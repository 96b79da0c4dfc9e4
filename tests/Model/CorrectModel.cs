using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Model;

public class CorrectModel
{
    /// <summary>The kernel's code never breaks an invariant (the long run is `fuzz bench --soak 1000000`).</summary>
    [Fact]
    public void Random_programs_under_random_schedules_break_nothing()
    {
        var runner = new MmuRunner(BugSet.None);
        for (ulong seed = 1; seed <= 20_000; seed++)
        {
            var p = ProgramGenerator.Random(MmuTarget.Vocabulary, seed, 10, 0);
            var r = runner.Run(p, new RandomStrategy(seed ^ 0x5eed5eed5eedUL));
            Assert.True(r.Violation is null, $"seed {seed}: {r.Violation?.Message}\n{r.Violation?.Dump}");
        }
    }

    [Fact]
    public void Pct_schedules_break_nothing()
    {
        var runner = new MmuRunner(BugSet.None);
        for (ulong seed = 1; seed <= 3_000; seed++)
        {
            var p = ProgramGenerator.Random(MmuTarget.Vocabulary, seed, 10, 0);
            var r = runner.Run(p, new PctStrategy(seed, 1 + (int)(seed % 3), p.Threads, 150));
            Assert.True(r.Violation is null, $"seed {seed}: {r.Violation?.Message}");
        }
    }

    [Fact]
    public void Every_committed_seed_input_decodes_and_runs()
    {
        var files = Directory.GetFiles(Corpus.Dir, "*.bin");
        Assert.NotEmpty(files);
        foreach (var f in files)
        {
            var p = MmuTarget.Codec.Decode(File.ReadAllBytes(f));
            var r = new MmuRunner(BugSet.None).Run(p);
            Assert.True(r.Violation is null, $"{Path.GetFileName(f)}: {r.Violation?.Message}");
        }
    }
}
