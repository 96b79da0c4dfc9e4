using Fuzz.Cli.Commands;
using Fuzz.Targets.Mmu;
using Fuzz.Tests.Model;
using Xunit;

namespace Fuzz.Tests.Cli;

/// <summary>`fuzz repro` on good and bad input: a verdict or a clear error, exit 0/1/2, never an unhandled exception or a hang.</summary>
public class ReproCommandTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fuzz-repro-");

    public void Dispose() => _dir.Delete(recursive: true);

    private (int Code, string Out, string Err) Repro(string path, bool trace = false, params string[] bugs)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = ReproCommand.Run(new FileInfo(path), trace, bugs, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private string Write(string name, byte[] bytes)
    {
        string p = Path.Combine(_dir.FullName, name);
        File.WriteAllBytes(p, bytes);
        return p;
    }

    [Fact]
    public void Seeded_variant_exits_1_with_the_report_and_kernel_code_exits_0()
    {
        string input = Path.Combine(Corpus.Dir, "stale-fault.bin");
        var bad = Repro(input, trace: true, Bugs.StaleFault.Id);
        Assert.Equal(1, bad.Code);
        Assert.Contains("VIOLATION of invariant 10", bad.Out);
        Assert.Contains("timeline", bad.Out);
        Assert.Contains("schedule so far", bad.Out);
        Assert.Equal(0, Repro(input).Code);
    }

    [Fact]
    public void Empty_truncated_random_and_huge_files_get_a_verdict()
    {
        var rng = new Random(11);
        var random = new byte[4096];
        rng.NextBytes(random);
        var seed = File.ReadAllBytes(Path.Combine(Corpus.Dir, "mmu-stress-mprotect.bin"));
        string huge = Path.Combine(_dir.FullName, "huge.bin");
        using (var f = File.Create(huge))
        {
            var chunk = new byte[1 << 20];
            for (int i = 0; i < 100; i++) { rng.NextBytes(chunk); f.Write(chunk); }
        }
        foreach (var path in new[] { Write("empty.bin", []), Write("trunc.bin", seed[..7]), Write("random.bin", random), huge })
        {
            var r = Repro(path);
            Assert.True(r.Code is 0 or 1, $"{path}: exit {r.Code}: {r.Err}");
            Assert.Contains("verdict:", r.Out);
        }
    }

    [Fact]
    public void Missing_file_directory_and_unknown_bug_exit_2_with_a_message()
    {
        var missing = Repro(Path.Combine(_dir.FullName, "nope.bin"));
        Assert.Equal(2, missing.Code);
        Assert.Contains("cannot read", missing.Err);
        var dir = Repro(_dir.FullName);
        Assert.Equal(2, dir.Code);
        var bug = Repro(Path.Combine(Corpus.Dir, "stale-fault.bin"), false, "no-such-bug");
        Assert.Equal(2, bug.Code);
        Assert.Contains("unknown bug variant", bug.Err);
    }

    [Fact]
    public void Targets_lists_operations_invariants_and_variants()
    {
        var o = new StringWriter();
        TargetsCommand.Print(o);
        string s = o.ToString();
        Assert.Contains("page_fault", s);
        Assert.Contains("Flush before yield", s);
        foreach (var b in Bugs.All) Assert.Contains(b.Id, s);
    }
}
