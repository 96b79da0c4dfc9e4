using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fuzz.Coordinator.Farm;

namespace Fuzz.Cli.Bench;

/// <summary>The minimised size of a crash: what the minimiser's program shape reports.</summary>
internal sealed record CrashSize(int Ops, int Threads, int Preemptions);

/// <summary>
/// One variant under one strategy. A miss counts as the cap in seconds and as the executions it ran
/// until the cap; the medians are the middle trial's (for an even count, the upper of the two middle
/// ones), so a median is always a trial that happened.
/// </summary>
internal sealed record BugRow(
    string Bug, string Strategy, int Trials, int Hits, double MedianSeconds, long MedianExecs, bool MedianIsMiss,
    int? Ops, int? Threads, int? Preemptions, IReadOnlyList<ulong> TrialSeeds, IReadOnlyList<bool> TrialFound,
    IReadOnlyList<double> TrialSeconds, IReadOnlyList<long> TrialExecs)
{
    public static BugRow Of(string bug, string strategy, IReadOnlyList<BugTrial> trials, CrashSize? size)
    {
        var middle = trials.OrderBy(t => t.Seconds).ElementAt(trials.Count / 2);
        long execs = trials.Select(t => t.Execs).Order().ElementAt(trials.Count / 2);
        return new BugRow(bug, strategy, trials.Count, trials.Count(t => t.Found), middle.Seconds, execs, !middle.Found,
            size?.Ops, size?.Threads, size?.Preemptions, trials.Select(t => t.Seed).ToList(), trials.Select(t => t.Found).ToList(),
            trials.Select(t => t.Seconds).ToList(), trials.Select(t => t.Execs).ToList());
    }
}

/// <summary>
/// Coverage-guided against one baseline on one variant: the baseline's median seconds over
/// coverage's. A bound rather than a ratio when either median is a miss (it counts as the cap).
/// </summary>
internal sealed record BugSpeedup(string Bug, string Baseline, double Speedup, bool BaselineMissed, bool CoverageMissed);

/// <summary>The geometric mean of the per-variant speed-ups over one baseline.</summary>
internal sealed record MeanSpeedup(string Baseline, double GeometricMean, int Bugs);

/// <summary>The time-to-bug results as JSON and as Markdown tables.</summary>
internal sealed class TimeToBugReport
{
    public const string Coverage = "coverage";
    public const string ResultsHeader = "| bug | strategy | trials | hits | median s | median execs | ops | threads | preemptions |";

    private static readonly JsonSerializerOptions Json = new(StatsJson.Options) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    public TimeToBugReport(TimeToBugSettings settings, IReadOnlyList<BugRow> results)
    {
        Settings = settings;
        Results = results;
        Speedups = [.. from cov in results.Where(r => r.Strategy == Coverage)
                       from b in results.Where(r => r.Bug == cov.Bug && r.Strategy != Coverage)
                       select new BugSpeedup(cov.Bug, b.Strategy, b.MedianSeconds / cov.MedianSeconds, b.MedianIsMiss, cov.MedianIsMiss)];
        Means = [.. Speedups.GroupBy(x => x.Baseline)
                    .Select(g => new MeanSpeedup(g.Key, Math.Exp(g.Average(x => Math.Log(x.Speedup))), g.Count()))];
    }

    public TimeToBugSettings Settings { get; }
    public IReadOnlyList<BugRow> Results { get; }
    public IReadOnlyList<BugSpeedup> Speedups { get; }
    public IReadOnlyList<MeanSpeedup> Means { get; }

    public byte[] ToJson(string machine, string commit) => JsonSerializer.SerializeToUtf8Bytes(new
    {
        Bench = "time-to-bug",
        Machine = machine,
        Commit = commit,
        Settings = new
        {
            Settings.Trials, Settings.Time, Settings.Workers, Settings.Seed, Settings.Strategies, Settings.Bugs, Settings.MinimizeSeconds,
        },
        Results,
        Speedups,
        GeometricMeans = Means,
    }, Json);

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine(ResultsHeader);
        md.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var r in Results)
            md.AppendLine($"| {r.Bug} | {r.Strategy} | {r.Trials} | {r.Hits} | {(r.MedianIsMiss ? ">" : "")}{F(r.MedianSeconds)} | {r.MedianExecs.ToString("N0", CultureInfo.InvariantCulture)} | {r.Ops} | {r.Threads} | {r.Preemptions} |");
        var baselines = Speedups.Select(x => x.Baseline).Distinct().ToList();
        if (baselines.Count == 0) return md.ToString();
        md.AppendLine();
        md.AppendLine($"| bug | {string.Join(" | ", baselines.Select(b => $"coverage vs {b}"))} |");
        md.AppendLine($"|---|{string.Concat(baselines.Select(_ => "---|"))}");
        foreach (var bug in Speedups.Select(x => x.Bug).Distinct())
            md.AppendLine($"| {bug} | {string.Join(" | ", baselines.Select(b => Speedups.FirstOrDefault(x => x.Bug == bug && x.Baseline == b) is { } x ? Cell(x) : ""))} |");
        md.AppendLine($"| geometric mean | {string.Join(" | ", Means.Select(m => $"{F(m.GeometricMean)}× over {m.Bugs}"))} |");
        return md.ToString();
    }

    /// <summary>"≥" when only the baseline missed (it would have taken longer), "≤" when only coverage did.</summary>
    private static string Cell(BugSpeedup x) =>
        (x.BaselineMissed, x.CoverageMissed) switch { (true, false) => "≥", (false, true) => "≤", _ => "" } + F(x.Speedup) + "×";

    private static string F(double v) => v.ToString("F2", CultureInfo.InvariantCulture);
}
