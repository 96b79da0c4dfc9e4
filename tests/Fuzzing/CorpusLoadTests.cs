using Fuzz.Cli.Commands;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Input;
using Fuzz.Engine.Storage;
using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Fuzzing;

public class CorpusLoadTests
{
    private static string TempDir()
    {
        string d = Path.Combine(Path.GetTempPath(), "fuzz-test-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(d);
        return d;
    }

    private static byte[] Good(ulong seed) => MmuTarget.Codec.Encode(ProgramGenerator.Random(MmuTarget.Vocabulary, seed, 6, 20));

    [Fact]
    public void Bad_files_are_listed_with_reasons_and_good_ones_load()
    {
        string dir = TempDir();
        try
        {
            var store = new CorpusStore(dir);
            var good = new[] { Good(1), Good(2), Good(3) };
            foreach (var g in good) store.Add(g);
            File.WriteAllBytes(Path.Combine(dir, "empty"), []);
            File.WriteAllBytes(Path.Combine(dir, "truncated"), Good(4).AsSpan(0, 7).ToArray());
            File.WriteAllBytes(Path.Combine(dir, "oversized"), new byte[ProgramInput.MaxEncodedBytes + 100]);
            var garbage = new byte[300];
            new Random(7).NextBytes(garbage);
            garbage[0] = 0xc3;
            File.WriteAllBytes(Path.Combine(dir, "garbage"), garbage);
            var outOfDomain = Good(5);
            outOfDomain[3] = 0xff;
            File.WriteAllBytes(Path.Combine(dir, "out-of-domain"), outOfDomain);
            File.WriteAllBytes(Path.Combine(dir, "x" + AtomicFile.TempMarker + "1-1"), Good(6));

            var load = CorpusStore.Load(dir, MmuTarget.Codec, MmuTarget.Vocabulary);

            Assert.Equal(good.Select(g => CorpusStore.NameOf(g)).Order(), load.Good.Select(g => Path.GetFileName(g.Path)).Order());
            var reasons = load.Bad.ToDictionary(b => Path.GetFileName(b.Path), b => b.Reason);
            Assert.Equal(6, reasons.Count);
            Assert.StartsWith("empty", reasons["empty"]);
            Assert.StartsWith("truncated", reasons["truncated"]);
            Assert.StartsWith("oversized", reasons["oversized"]);
            Assert.StartsWith("unknown format version", reasons["garbage"]);
            Assert.StartsWith("malformed", reasons["out-of-domain"]);
            Assert.Contains("temporary", reasons["x" + AtomicFile.TempMarker + "1-1"]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Committed_seed_corpus_is_canonical()
    {
        var load = CorpusStore.Load(Model.Corpus.Dir, MmuTarget.Codec, MmuTarget.Vocabulary);
        Assert.Empty(load.Bad);
        Assert.True(load.Good.Count >= 10);
    }

    [Fact]
    public void Run_lists_bad_corpus_files_and_fuzzes_with_the_good_ones()
    {
        string seeds = TempDir(), outDir = TempDir();
        try
        {
            File.WriteAllBytes(Path.Combine(seeds, "empty"), []);
            File.WriteAllBytes(Path.Combine(seeds, "garbage"), [0x99, 1, 2, 3, 4, 5]);
            new CorpusStore(seeds).Add(Good(9));
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int rc = RunCommand.Run(new RunCommand.RunArgs("mmu", "1s", 1, [seeds], outDir, "coverage", 1, [], false, 5), stdout, stderr, CancellationToken.None);
            Assert.Equal(0, rc);
            Assert.Contains("empty: empty file", stderr.ToString());
            Assert.Contains("garbage: unknown format version 153", stderr.ToString());
            Assert.Contains("2 bad corpus file(s) skipped", stderr.ToString());
            Assert.Contains("DONE", stdout.ToString());
        }
        finally
        {
            Directory.Delete(seeds, true);
            Directory.Delete(outDir, true);
        }
    }

    [Theory]
    [InlineData("file")]
    [InlineData("/proc/fuzz-out")]
    public void Unwritable_output_directory_is_a_clear_error_at_startup(string where)
    {
        string dir = TempDir();
        try
        {
            string outDir = where;
            if (where == "file")
            {
                string file = Path.Combine(dir, "a-file");
                File.WriteAllText(file, "not a directory");
                outDir = Path.Combine(file, "out");
            }
            var stdout = new StringWriter();
            var stderr = new StringWriter();
            int rc = RunCommand.Run(new RunCommand.RunArgs("mmu", "10s", 1, [], outDir, "coverage", 1, [], false, 5), stdout, stderr, CancellationToken.None);
            Assert.Equal(2, rc);
            Assert.Contains("cannot write to the output directory", stderr.ToString());
            Assert.Equal("", stdout.ToString());
        }
        finally { Directory.Delete(dir, true); }
    }
}
