using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Fuzz.Cli.Farm;
using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;

namespace Fuzz.Cli.Commands;

/// <summary>fuzz run: the embedded farm. Exit 0 no crash, 1 crash(es) found, 2 usage error.</summary>
public static class RunCommand
{
    public static Command Build()
    {
        var target = new Option<string>("--target") { Description = "fuzz target (see `fuzz targets`)", DefaultValueFactory = _ => Targets.Factory.DefaultTarget };
        var time = new Option<string?>("--time") { Description = "stop after this long (60s, 5m, 2h; default: until Ctrl-C)" };
        var workers = new Option<int>("--workers") { Description = "fuzz loops, one thread each", DefaultValueFactory = _ => Environment.ProcessorCount };
        var corpus = new Option<string[]>("--corpus") { Description = "seed corpus directory (repeatable); the work directory's own corpus is always loaded", AllowMultipleArgumentsPerToken = true };
        var outDir = new Option<string>("--out") { Description = "work directory: corpus/<target>/, crashes/, stats.jsonl", DefaultValueFactory = _ => "fuzz-out" };
        var strategy = new Option<string>("--strategy") { Description = "coverage (mutate the corpus, schedule from the input), random (random programs and schedules), pct (random programs, PCT schedules)", DefaultValueFactory = _ => "coverage" };
        var seed = new Option<ulong>("--seed") { Description = "seed of the loops' random streams", DefaultValueFactory = _ => 1 };
        var runs = new Option<long?>("--runs") { Description = "stop after this many executions (with --workers 1 the run is exactly reproducible from --seed)" };
        var merge = new Option<bool>("--merge") { Description = "do not fuzz: merge the --corpus directories into <out>/corpus/<target>, keeping a minimal subset with the same features (libFuzzer -merge=1)" };
        var budget = new Option<double>("--minimize-seconds") { Description = "time budget to minimise each new crash", DefaultValueFactory = _ => 30 };
        var bugs = BugOption.Create();
        var cmd = new Command("run", "Fuzz in one process: N loops sharing a corpus and feature set, crashes triaged and minimised")
            { target, time, runs, workers, corpus, outDir, strategy, seed, bugs, merge, budget };
        UsageErrors.SetAction(cmd, (r, cancel) => Task.FromResult(Run(new RunArgs(
            r.GetValue(target)!, r.GetValue(time), r.GetValue(workers), r.GetValue(corpus) ?? [], r.GetValue(outDir)!,
            r.GetValue(strategy)!, r.GetValue(seed), r.GetValue(bugs) ?? [], r.GetValue(merge), r.GetValue(budget), r.GetValue(runs)), Console.Out, Console.Error, cancel)));
        return cmd;
    }

    public sealed record RunArgs(
        string Target, string? Time, int Workers, string[] Corpus, string Out, string Strategy, ulong Seed, string[] Bugs, bool Merge, double MinimizeSeconds, long? Runs = null);

    public static bool TryParseDuration(string s, out TimeSpan d)
    {
        s = s.Trim();
        double scale = 1;
        if (s.EndsWith("ms", StringComparison.Ordinal)) { scale = 0.001; s = s[..^2]; }
        else if (s.EndsWith('s')) s = s[..^1];
        else if (s.EndsWith('m')) { scale = 60; s = s[..^1]; }
        else if (s.EndsWith('h')) { scale = 3600; s = s[..^1]; }
        if (double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v >= 0 && !double.IsInfinity(v))
        {
            d = TimeSpan.FromSeconds(v * scale);
            return true;
        }
        d = default;
        return false;
    }

    public static int Run(RunArgs a, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        var factory = Targets.Factory;
        if (factory.Describe(a.Target) is not { } description)
        {
            stderr.WriteLine($"fuzz run: unknown target '{a.Target}' (targets: {string.Join(", ", factory.Targets.Select(t => t.Name))})");
            return 2;
        }
        if (!BugOption.TryParse(description, a.Bugs, stderr, out var bugs)) return 2;
        TimeSpan? limit = null;
        if (a.Time is { } t)
        {
            if (!TryParseDuration(t, out var d)) { stderr.WriteLine($"fuzz run: --time '{t}' is not a duration (e.g. 60s, 5m, 2h)"); return 2; }
            limit = d;
        }
        if (!FuzzStrategy.TryParse(a.Strategy, out var kind))
        {
            stderr.WriteLine($"fuzz run: --strategy must be coverage, random or pct, not '{a.Strategy}'");
            return 2;
        }
        if (a.Workers < 1) { stderr.WriteLine("fuzz run: --workers must be at least 1"); return 2; }
        if (EmbeddedFarm.CheckWritable(a.Out) is { } why)
        {
            stderr.WriteLine($"fuzz run: cannot write to the output directory '{Path.GetFullPath(a.Out)}': {why}");
            return 2;
        }
        var options = new FuzzOptions(a.Target, kind, a.Seed, bugs);
        return a.Merge ? Merge(a, options, factory, stdout, stderr) : Fuzz(a, options, factory, limit, stdout, stderr, cancel);
    }

    private static int Fuzz(RunArgs a, FuzzOptions options, ITargetFactory factory, TimeSpan? limit, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        using var farm = new EmbeddedFarm(options, factory, a.Workers, a.Out, TimeSpan.FromSeconds(Math.Max(1, a.MinimizeSeconds)));
        var print = new Lock();
        double rate = 0;
        void Status(string ev)
        {
            var s = farm.Stats(rate);
            lock (print) stdout.WriteLine($"#{s.Execs} {ev} cov: {s.Cov} ft: {s.Ft} corp: {s.Corp} exec/s: {s.ExecsPerSecond:0} crashes: {s.Crashes} workers: {s.Workers}");
        }
        stdout.WriteLine($"fuzz run: target {a.Target}, strategy {a.Strategy}, {a.Workers} workers, seed {a.Seed}, bugs: {(options.Bugs.Count > 0 ? string.Join(",", options.Bugs) : "none")}, out {Path.GetFullPath(a.Out)}{(limit is { } l ? $", for {l.TotalSeconds:0.#}s" : "")}");
        var bad = farm.LoadSeeds(a.Corpus);
        foreach (var b in bad) stderr.WriteLine($"fuzz run: skipped {b.Path}: {b.Reason}");
        if (bad.Count > 0) stderr.WriteLine($"fuzz run: {bad.Count} bad corpus file(s) skipped");
        Status("INITED");

        farm.Session.NewInput += (_, _) => Status("NEW");
        farm.FirstOfKind += c =>
        {
            Status("CRASH");
            lock (print) stdout.WriteLine($"    invariant {c.Violation.Id} ({c.Violation.InvariantName}) at {c.Violation.Site}: {c.Violation.Detail}");
        };
        if (farm.Triage is var triage)
            triage.Triaged += o =>
            {
                if (o.Verdict == TriageVerdict.Filed && o.Report is { } r)
                    lock (print)
                        stdout.WriteLine($"    filed {r.Signature}: {r.Detail} | minimised {r.Before.Ops}->{r.After.Ops} ops, {r.Before.Threads}->{r.After.Threads} threads, {r.Before.Preemptions}->{r.After.Preemptions} preemptions in {r.MinimizeSeconds:F1}s");
                else if (o.Verdict == TriageVerdict.NotReproduced)
                    lock (print) stdout.WriteLine($"    a crash did not reproduce on a clean model ({o.Key})");
            };

        using var stats = new StreamWriter(new FileStream(Path.Combine(a.Out, "stats.jsonl"), FileMode.Append, FileAccess.Write, FileShare.Read)) { AutoFlush = true };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        int interrupts = 0;
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true;
            if (Interlocked.Increment(ref interrupts) == 1)
            {
                lock (print) stderr.WriteLine("fuzz run: stopping (Ctrl-C again to skip minimising queued crashes)");
                stop.Cancel();
            }
            else farm.Triage.Stop(TimeSpan.Zero);
        };
        Console.CancelKeyPress += onCancel;
        var sw = Stopwatch.StartNew();
        farm.Start(a.Runs);
        long lastExecs = 0;
        double lastT = 0, nextPulse = 3;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                double remaining = limit is { } lim ? lim.TotalSeconds - sw.Elapsed.TotalSeconds : 1;
                if (remaining <= 0 || farm.LoopsFinished) break;
                stop.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(Math.Min(a.Runs is null ? 1 : 0.05, remaining)));
                double now = sw.Elapsed.TotalSeconds;
                if (now - lastT < 0.999) continue;
                long execs = farm.Session.Execs;
                rate = (execs - lastExecs) / Math.Max(1e-3, now - lastT);
                lastExecs = execs;
                lastT = now;
                stats.WriteLine(JsonSerializer.Serialize(farm.Stats(rate), StatsJson.Options));
                if (now >= nextPulse) { Status("pulse"); nextPulse = now + 3; }
            }
            farm.Stop(Interlocked.CompareExchange(ref interrupts, 0, 0) > 1 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Max(1, a.MinimizeSeconds) * 4));
            double total = sw.Elapsed.TotalSeconds;
            rate = farm.Session.Execs / Math.Max(1e-3, total);
            stats.WriteLine(JsonSerializer.Serialize(farm.Stats(rate), StatsJson.Options));
            Status("DONE");
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
        }
        var filed = farm.Triage.Filed;
        stdout.WriteLine($"summary: {farm.Session.Execs:N0} execs in {sw.Elapsed.TotalSeconds:F1}s ({rate:N0}/s), {farm.Session.Features.Edges} edges, {farm.Session.Features.Features} features ({farm.Session.Features.Semantic} semantic), corpus {farm.Session.Corpus.Count}");
        stdout.WriteLine($"crashes: {farm.Session.CrashesFound:N0} found this run, {filed.Count} unique filed in {Path.Combine(Path.GetFullPath(a.Out), "crashes")}, {farm.Triage.Duplicates} duplicates, {farm.Triage.NotReproduced} did not reproduce");
        foreach (var r in filed)
            stdout.WriteLine($"  {r.Signature}  invariant {r.Invariant} ({r.InvariantName})  {r.After.Ops} ops, {r.After.Threads} threads, {r.After.Preemptions} preemptions  hits {r.Hits}");
        return farm.Session.CrashesFound > 0 ? 1 : 0;
    }

    /// <summary>
    /// libFuzzer's -merge=1: inputs already in the output corpus first, then the rest from the
    /// smallest up; an input is kept only if it adds a feature.
    /// </summary>
    private static int Merge(RunArgs a, FuzzOptions options, ITargetFactory factory, TextWriter stdout, TextWriter stderr)
    {
        var target = factory.Create(options.Target, options.Bugs);
        var store = new CorpusStore(Path.Combine(a.Out, "corpus", options.Target));
        var existing = CorpusStore.Load(store.Dir, target.Codec, target.Vocabulary);
        var candidates = CorpusStore.Load(a.Corpus, target.Codec, target.Vocabulary);
        var inputs = candidates.Good;
        var bad = existing.Bad.Concat(candidates.Bad).ToList();
        foreach (var b in bad) stderr.WriteLine($"fuzz run --merge: skipped {b.Path}: {b.Reason}");
        var merger = new CorpusMerger(factory, options.Target, options.Bugs);
        var result = merger.Merge(existing.Good.Select(f => f.Data), inputs.Select(f => f.Data));
        foreach (var kept in result.Added) store.Add(kept);
        stdout.WriteLine($"merge: {existing.Good.Count} inputs already in {store.Dir}, {inputs.Count} candidates, {result.Added.Count} added; " +
                         $"{result.Features} features in total ({result.CandidateFeatures} in the candidates), {result.Crashing} crashing inputs left out, {bad.Count} bad files skipped");
        return 0;
    }
}
