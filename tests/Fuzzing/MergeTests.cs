using Fuzz.Cli.Commands;
using Fuzz.Engine.Corpus;
using Fuzz.Targets;
using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Fuzzing;

public class MergeTests
{
    /// <summary>--merge keeps a subset of the inputs whose features are exactly the features of them all.</summary>
    [Fact]
    public void Merge_keeps_a_smaller_subset_with_the_same_features()
    {
        string run = Dir(), merged = Dir();
        try
        {
            Assert.Equal(0, RunCommand.Run(new RunCommand.RunArgs("mmu", null, 1, [], run, "coverage", 5, [], false, 5, Runs: 5_000), new StringWriter(), new StringWriter(), CancellationToken.None));
            string source = Path.Combine(run, "corpus", "mmu");
            var stdout = new StringWriter();
            Assert.Equal(0, RunCommand.Run(new RunCommand.RunArgs("mmu", null, 1, [source], merged, "coverage", 1, [], true, 5), stdout, new StringWriter(), CancellationToken.None));
            Assert.Contains("merge: ", stdout.ToString());

            var all = CorpusStore.Load(source, MmuTarget.Codec, MmuTarget.Vocabulary).Good;
            var kept = CorpusStore.Load(Path.Combine(merged, "corpus", "mmu"), MmuTarget.Codec, MmuTarget.Vocabulary).Good;
            Assert.NotEmpty(kept);
            Assert.True(kept.Count < all.Count, $"{kept.Count} of {all.Count}");
            var names = all.Select(f => Path.GetFileName(f.Path)).ToHashSet();
            Assert.All(kept, f => Assert.Contains(Path.GetFileName(f.Path), names));

            var merger = new CorpusMerger(new TargetFactory(), "mmu", []);
            merger.FeaturesOf(all[0].Data);
            var union = all.SelectMany(f => merger.FeaturesOf(f.Data) ?? []).ToHashSet();
            var keptUnion = kept.SelectMany(f => merger.FeaturesOf(f.Data) ?? []).ToHashSet();
            Assert.Equal(union.Order(), keptUnion.Order());

            var again = new StringWriter();
            Assert.Equal(0, RunCommand.Run(new RunCommand.RunArgs("mmu", null, 1, [source], merged, "coverage", 1, [], true, 5), again, new StringWriter(), CancellationToken.None));
            Assert.Contains(", 0 added;", again.ToString());
        }
        finally
        {
            Directory.Delete(run, true);
            Directory.Delete(merged, true);
        }
    }

    private static string Dir()
    {
        string d = Path.Combine(Path.GetTempPath(), "fuzz-merge-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(d);
        return d;
    }
}
