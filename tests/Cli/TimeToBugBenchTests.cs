using System.Globalization;
using System.Text.Json;
using Xunit;

namespace Fuzz.Tests.Cli;

/// <summary>`fuzz bench --bugs` run for real on one variant and two strategies: its JSON and Markdown say the same, in the documented shape.</summary>
public class TimeToBugBenchTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("fuzz-ttb-");

    public void Dispose() => _dir.Delete(recursive: true);

    private const double Cap = 5;

    [Fact]
    public void Bench_bugs_writes_json_and_a_markdown_table_with_a_row_per_bug_and_strategy()
    {
        string json = Path.Combine(_dir.FullName, "ttb.json");
        var (code, stdout, stderr) = FuzzProcess.Run(FuzzProcess.RepoRoot, TimeSpan.FromSeconds(120),
            ["bench", "--bugs", "stale-fault", "--trials", "1", "--time", "5", "--strategy", "coverage,random", "--json", json]);
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");

        using var doc = JsonDocument.Parse(File.ReadAllBytes(json));
        var root = doc.RootElement;
        Assert.False(string.IsNullOrWhiteSpace(root.GetProperty("machine").GetString()));
        string commit = root.GetProperty("commit").GetString()!;
        Assert.True(commit == "unknown" || (commit.Length == 40 && commit.All(Uri.IsHexDigit)), commit);
        var settings = root.GetProperty("settings");
        Assert.Equal(1, settings.GetProperty("trials").GetInt32());
        Assert.Equal(Cap, settings.GetProperty("time").GetDouble());
        Assert.True(settings.GetProperty("workers").GetInt32() >= 1);
        Assert.Equal(1UL, settings.GetProperty("seed").GetUInt64());
        Assert.Equal(["coverage", "random"], settings.GetProperty("strategies").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["stale-fault"], settings.GetProperty("bugs").EnumerateArray().Select(e => e.GetString()));

        var rows = root.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["coverage", "random"], rows.Select(r => r.GetProperty("strategy").GetString()));
        foreach (var r in rows)
        {
            Assert.Equal("stale-fault", r.GetProperty("bug").GetString());
            Assert.Equal(1, r.GetProperty("trials").GetInt32());
            int hits = r.GetProperty("hits").GetInt32();
            Assert.InRange(hits, 0, 1);
            double seconds = r.GetProperty("median_seconds").GetDouble();
            Assert.InRange(seconds, double.Epsilon, hits == 1 ? Cap : Cap + 1e-9);
            if (hits == 0) Assert.Equal(Cap, seconds);
            Assert.True(r.GetProperty("median_execs").GetInt64() > 0);
            foreach (var size in new[] { "ops", "threads", "preemptions" })
                Assert.Equal(hits == 1 ? JsonValueKind.Number : JsonValueKind.Null, r.GetProperty(size).ValueKind);
            if (hits == 1)
            {
                Assert.InRange(r.GetProperty("ops").GetInt32(), 1, 48);
                Assert.InRange(r.GetProperty("threads").GetInt32(), 1, 8);
                Assert.True(r.GetProperty("preemptions").GetInt32() >= 0);
            }
        }

        double cov = rows[0].GetProperty("median_seconds").GetDouble(), rnd = rows[1].GetProperty("median_seconds").GetDouble();
        var speedup = Assert.Single(root.GetProperty("speedups").EnumerateArray());
        Assert.Equal("stale-fault", speedup.GetProperty("bug").GetString());
        Assert.Equal("random", speedup.GetProperty("baseline").GetString());
        Assert.Equal(rnd / cov, speedup.GetProperty("speedup").GetDouble(), 9);
        var mean = Assert.Single(root.GetProperty("geometric_means").EnumerateArray());
        Assert.Equal("random", mean.GetProperty("baseline").GetString());
        Assert.Equal(rnd / cov, mean.GetProperty("geometric_mean").GetDouble(), 9);

        string md = File.ReadAllText(Path.ChangeExtension(json, ".md"));
        Assert.Contains(md.ReplaceLineEndings(), stdout.ReplaceLineEndings());
        var lines = md.ReplaceLineEndings("\n").Split('\n');
        Assert.Equal("| bug | strategy | trials | hits | median s | median execs | ops | threads | preemptions |", lines[0]);
        Assert.Equal("|---|---|---|---|---|---|---|---|---|", lines[1]);
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            var cells = lines[2 + i].Trim('|').Split('|').Select(c => c.Trim()).ToArray();
            Assert.Equal(r.GetProperty("bug").GetString(), cells[0]);
            Assert.Equal(r.GetProperty("strategy").GetString(), cells[1]);
            Assert.Equal(r.GetProperty("trials").GetInt32().ToString(CultureInfo.InvariantCulture), cells[2]);
            Assert.Equal(r.GetProperty("hits").GetInt32().ToString(CultureInfo.InvariantCulture), cells[3]);
            Assert.Equal(r.GetProperty("median_seconds").GetDouble().ToString("F2", CultureInfo.InvariantCulture), cells[4].TrimStart('>'));
            Assert.Equal(r.GetProperty("median_execs").GetInt64().ToString("N0", CultureInfo.InvariantCulture), cells[5]);
            Assert.Equal(r.GetProperty("ops").ValueKind == JsonValueKind.Null ? "" : r.GetProperty("ops").GetInt32().ToString(CultureInfo.InvariantCulture), cells[6]);
        }
        Assert.Contains("| bug | coverage vs random |", md);
        Assert.Contains("| geometric mean |", md);
        Assert.Contains("speed-up of coverage over random: geometric mean", stdout);
    }
}
