using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;

namespace Fuzz.Cli.Bench;

/// <summary>What a time-to-bug run covers: the variants, the strategies, and per trial the seed, the cap and the loops.</summary>
internal sealed record TimeToBugSettings(
    IReadOnlyList<string> Bugs, IReadOnlyList<string> Strategies, int Trials, double Time, int Workers, ulong Seed, double MinimizeSeconds);

/// <summary>One trial: seconds and executions (over all loops) until the first crash, or until the cap for a miss.</summary>
internal sealed record BugTrial(ulong Seed, bool Found, double Seconds, long Execs, int Invariant);

/// <summary>
/// fuzz bench --bugs: for each variant, strategy and seed, an embedded session with an empty corpus
/// fuzzes until the first crash or the cap; the first crash of each variant and strategy is then
/// minimised, for the size of what that strategy found.
/// </summary>
internal static class TimeToBug
{
    public static IReadOnlyList<BugRow> Run(TargetDescription target, TimeToBugSettings s, TextWriter stdout, CancellationToken cancel)
    {
        stdout.WriteLine($"time to bug: {s.Trials} trials per variant and strategy (seeds {s.Seed}..{s.Seed + (ulong)s.Trials - 1}), {s.Workers} workers, empty corpus, cap {s.Time}s");
        var rows = new List<BugRow>();
        foreach (var id in s.Bugs)
            foreach (var name in s.Strategies)
            {
                FuzzStrategy.TryParse(name, out var kind);
                var trials = new List<BugTrial>();
                byte[]? firstCrash = null;
                for (int i = 0; i < s.Trials && !cancel.IsCancellationRequested; i++)
                {
                    var (trial, crash) = RunTrial(target, id, kind!, s.Seed + (ulong)i, s, cancel);
                    trials.Add(trial);
                    firstCrash ??= crash;
                    stdout.WriteLine($"  {id,-24} {name,-8} seed {trial.Seed,3}: {(trial.Found ? $"{trial.Seconds,7:F2}s  invariant {trial.Invariant}" : $"not found in {s.Time}s")}  {trial.Execs:N0} execs");
                }
                if (trials.Count == 0) return rows;
                var size = firstCrash is null ? null : MinimizedShape(target, id, firstCrash, s.MinimizeSeconds, cancel);
                var row = BugRow.Of(id, name, trials, size);
                rows.Add(row);
                string median = row.MedianIsMiss ? $">{s.Time}s" : $"{row.MedianSeconds:F2}s";
                stdout.WriteLine($"{id,-24} {name,-8} median {median}  found {row.Hits}/{row.Trials}  times: {string.Join(" ", trials.Select(t => t.Found ? t.Seconds.ToString("F2") : "-"))}  median execs {row.MedianExecs:N0}" +
                    (size is { } z ? $"  first crash minimised to {z.Ops} ops, {z.Threads} threads, {z.Preemptions} preemptions" : ""));
            }
        return rows;
    }

    private static (BugTrial Trial, byte[]? Crash) RunTrial(TargetDescription target, string id, FuzzStrategy kind, ulong seed, TimeToBugSettings s, CancellationToken cancel)
    {
        var session = new FuzzSession(new FuzzOptions(target.Name, kind, seed, [id]), Targets.Factory, store: null);
        for (int w = 0; w < s.Workers; w++) session.CreateLoop();
        using var found = new ManualResetEventSlim();
        CrashFound? first = null;
        long execsAtCrash = 0;
        session.Crash += c =>
        {
            if (Interlocked.CompareExchange(ref first, c, null) is not null) return;
            Interlocked.Exchange(ref execsAtCrash, session.Execs);
            found.Set();
        };
        session.StartLoops();
        try { found.Wait(TimeSpan.FromSeconds(s.Time), cancel); }
        catch (OperationCanceledException) { }
        session.StopLoops();
        return first is { } c0
            ? (new BugTrial(seed, true, c0.Elapsed.TotalSeconds, Interlocked.Read(ref execsAtCrash), c0.Violation.Id), c0.Input)
            : (new BugTrial(seed, false, s.Time, session.Execs, 0), null);
    }

    /// <summary>The crash minimised on a clean model, as triage would file it; null when it does not fail again there.</summary>
    private static CrashSize? MinimizedShape(TargetDescription target, string id, byte[] input, double seconds, CancellationToken cancel)
    {
        var model = Targets.Factory.Create(target.Name, [id]);
        var program = model.Codec.Decode(input);
        if (!model.ExecuteSafely(program).Failed) return null;
        var (m, _, _) = CrashReplay.MinimizeAndSign(model, program, TimeSpan.FromSeconds(Math.Max(0.1, seconds)), cancel);
        return new CrashSize(m.After.Ops, m.After.Threads, m.After.Preemptions);
    }
}
