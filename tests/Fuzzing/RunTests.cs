using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fuzz.Cli.Commands;
using Fuzz.Engine.Corpus;
using Fuzz.Targets.Mmu;
using Xunit;
using Xunit.Abstractions;

namespace Fuzz.Tests.Fuzzing;

public partial class RunTests(ITestOutputHelper log)
{
    [GeneratedRegex(@"^#\d+ (INITED|NEW|pulse|CRASH|DONE) cov: \d+ ft: \d+ corp: \d+ exec/s: \d+ crashes: \d+ workers: \d+$")]
    private static partial Regex StatusLine();

    private static string TempDir()
    {
        string d = Path.Combine(Path.GetTempPath(), "fuzz-run-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(d);
        return d;
    }

    [Fact]
    public void Correct_model_short_run_finds_nothing_and_writes_corpus_and_stats()
    {
        string outDir = TempDir();
        try
        {
            var stdout = new StringWriter();
            int rc = RunCommand.Run(new RunCommand.RunArgs("mmu", "60s", 1, [], outDir, "coverage", 7, [], false, 5, Runs: 60_000), stdout, new StringWriter(), CancellationToken.None);
            string text = stdout.ToString();
            Assert.Equal(0, rc);
            Assert.Contains("#60000 DONE ", text);
            var status = text.Split('\n').Where(l => l.StartsWith('#')).Select(l => l.TrimEnd()).ToList();
            Assert.Contains(status, l => l.Contains(" NEW "));
            Assert.All(status, l => Assert.Matches(StatusLine(), l));
            Assert.EndsWith("workers: 1", status[^1]);

            var stats = File.ReadAllLines(Path.Combine(outDir, "stats.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();
            Assert.True(stats.Count >= 2);
            Assert.True(stats[^1].GetProperty("ft").GetInt32() > stats[0].GetProperty("ft").GetInt32() / 2);
            Assert.Equal(0, stats[^1].GetProperty("crashes_found").GetInt64());

            var load = CorpusStore.Load(Path.Combine(outDir, "corpus", "mmu"), MmuTarget.Codec, MmuTarget.Vocabulary);
            Assert.Empty(load.Bad);
            Assert.NotEmpty(load.Good);
            Assert.All(load.Good, g => Assert.Equal(CorpusStore.NameOf(g.Data), Path.GetFileName(g.Path)));
            Assert.Empty(Directory.GetDirectories(Path.Combine(outDir, "crashes")));
        }
        finally { Directory.Delete(outDir, true); }
    }

    /// <summary>
    /// Everything a short run with two seeded variants produced replays through `fuzz repro` to the
    /// same verdict: corpus entries clean, each crash's minimised input to its directory's signature,
    /// its original input to the same invariant and site, and minimising the original again gives
    /// the same signature.
    /// </summary>
    [Fact]
    public void Every_saved_crash_and_corpus_entry_replays_to_the_same_verdict_and_signature()
    {
        string outDir = TempDir();
        string[] bugs = [Bugs.RoUnlockEmpty.Id, Bugs.YieldNoFlush.Id];
        try
        {
            var stdout = new StringWriter();
            int rc = RunCommand.Run(new RunCommand.RunArgs("mmu", "4s", 2, [], outDir, "coverage", 3, bugs, false, 10), stdout, new StringWriter(), CancellationToken.None);
            log.WriteLine(string.Join('\n', stdout.ToString().Split('\n').Where(l => !l.Contains(" NEW "))));
            Assert.Equal(1, rc);

            var corpus = Directory.GetFiles(Path.Combine(outDir, "corpus", "mmu"));
            Assert.NotEmpty(corpus);
            foreach (var f in corpus)
                Assert.Equal(0, ReproCommand.Run(new FileInfo(f), false, bugs, new StringWriter(), new StringWriter()));

            var crashes = Directory.GetDirectories(Path.Combine(outDir, "crashes"));
            Assert.NotEmpty(crashes);
            foreach (var dir in crashes)
            {
                string sig = Path.GetFileName(dir);
                foreach (var name in new[] { "input", "minimized", "trace.txt", "report.json", "report.md" })
                    Assert.True(File.Exists(Path.Combine(dir, name)), $"{sig}/{name}");
                var report = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "report.json"))).RootElement;
                Assert.Equal(sig, report.GetProperty("Signature").GetString());
                string key = $"{report.GetProperty("Invariant").GetInt32()}:{report.GetProperty("Site").GetString()}";

                var min = new StringWriter();
                Assert.Equal(1, ReproCommand.Run(new FileInfo(Path.Combine(dir, "minimized")), false, bugs, min, new StringWriter()));
                Assert.Contains($"signature: {sig} ", min.ToString());

                var orig = new StringWriter();
                Assert.Equal(1, ReproCommand.Run(new FileInfo(Path.Combine(dir, "input")), false, bugs, orig, new StringWriter()));
                Assert.Contains($"(key {key};", orig.ToString());

                var again = new StringWriter();
                string dest = Path.Combine(outDir, sig + ".min");
                Assert.Equal(0, MinimizeCommand.Run(new FileInfo(Path.Combine(dir, "input")), "mmu", new FileInfo(dest), 30, bugs, again, new StringWriter(), CancellationToken.None));
                Assert.Contains($"signature: {sig} ", again.ToString());
                Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "minimized")), File.ReadAllBytes(dest));
            }
        }
        finally { Directory.Delete(outDir, true); }
    }

    /// <summary>The real command line: SIGINT stops the run cleanly, with the summary, and what was written stays valid.</summary>
    [Fact]
    public void Ctrl_C_stops_cleanly_and_keeps_everything_written()
    {
        string outDir = TempDir();
        try
        {
            string fuzzDll = Path.Combine(AppContext.BaseDirectory, "fuzz.dll");
            var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            foreach (var a in new[] { fuzzDll, "run", "--time", "120s", "--workers", "2", "--out", outDir }) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = new System.Text.StringBuilder();
            p.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (stdout) stdout.AppendLine(e.Data); };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed < TimeSpan.FromSeconds(60))
            {
                lock (stdout) if (stdout.ToString().Contains(" pulse ")) break;
                Thread.Sleep(100);
            }
            Process.Start("kill", ["-INT", p.Id.ToString()])!.WaitForExit();
            Assert.True(p.WaitForExit(TimeSpan.FromSeconds(30)), "the run did not stop after SIGINT");
            p.WaitForExit();
            string text;
            lock (stdout) text = stdout.ToString();
            log.WriteLine(string.Join('\n', text.Split('\n').Where(l => !l.Contains(" NEW "))));
            Assert.Equal(0, p.ExitCode);
            Assert.Contains(" DONE ", text);
            Assert.Contains("summary:", text);
            var load = CorpusStore.Load(Path.Combine(outDir, "corpus", "mmu"), MmuTarget.Codec, MmuTarget.Vocabulary);
            Assert.Empty(load.Bad);
            Assert.NotEmpty(load.Good);
            foreach (var line in File.ReadAllLines(Path.Combine(outDir, "stats.jsonl"))) JsonDocument.Parse(line);
        }
        finally { Directory.Delete(outDir, true); }
    }
}

public class ReproducibleRunTests
{
    /// <summary>One worker and a fixed number of executions: the same seed gives the same corpus, file for file.</summary>
    [Fact]
    public void One_worker_with_runs_is_exactly_reproducible()
    {
        var dirs = new[] { Dir(), Dir() };
        try
        {
            foreach (var d in dirs)
                Assert.Equal(0, RunCommand.Run(new RunCommand.RunArgs("mmu", null, 1, [], d, "coverage", 11, [], false, 5, Runs: 20_000), new StringWriter(), new StringWriter(), CancellationToken.None));
            var a = Directory.GetFiles(Path.Combine(dirs[0], "corpus", "mmu")).Select(Path.GetFileName).Order().ToList();
            var b = Directory.GetFiles(Path.Combine(dirs[1], "corpus", "mmu")).Select(Path.GetFileName).Order().ToList();
            Assert.NotEmpty(a);
            Assert.Equal(a, b);
        }
        finally
        {
            foreach (var d in dirs) Directory.Delete(d, true);
        }
    }

    private static string Dir()
    {
        string d = Path.Combine(Path.GetTempPath(), "fuzz-rep-" + Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(d);
        return d;
    }
}
