using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Fuzz.Cli.Commands;
using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Storage;

namespace Fuzz.Cli.Bench;

/// <summary>fuzz bench: throughput of the model on one core, and soak runs of random programs (the false-positive check).</summary>
public static class BenchCommand
{
    public const int DefaultOps = 10;

    public static Command Build()
    {
        var throughput = new Option<bool>("--throughput") { Description = "measure programs/s and scheduler steps/s on one core" };
        var seconds = new Option<double>("--seconds") { Description = "length of each throughput run", DefaultValueFactory = _ => 10 };
        var runs = new Option<int>("--runs") { Description = "throughput runs (the median is reported)", DefaultValueFactory = _ => 5 };
        var soak = new Option<long>("--soak") { Description = "run N random programs under random schedules and report any violation" };
        var jobs = new Option<int>("--jobs") { Description = "threads for --soak", DefaultValueFactory = _ => Environment.ProcessorCount };
        var seed = new Option<ulong>("--seed") { Description = "first seed", DefaultValueFactory = _ => 1 };
        var ops = new Option<int>("--ops") { Description = "operations per generated program", DefaultValueFactory = _ => DefaultOps };
        var outDir = new Option<DirectoryInfo?>("--out") { Description = "where --soak writes failing inputs and the JSON result; for --bugs, a directory for time-to-bug.json and .md (unless --json is given)" };
        var breakdown = new Option<bool>("--breakdown") { Description = "with --throughput: replay the same inputs with each part of the feedback switched on in turn" };
        var bugs = BugOption.Create();
        var bugTimes = new Option<string?>("--bugs") { Description = "time to bug: fuzz each seeded variant (all, or ids separated by commas) from an empty corpus until it is first reported" };
        var trials = new Option<int>("--trials") { Description = "trials per variant and strategy for --bugs (distinct seeds)", DefaultValueFactory = _ => 5 };
        var cap = new Option<double>("--time") { Description = "time cap per trial for --bugs, seconds", DefaultValueFactory = _ => 60 };
        var workers = new Option<int>("--workers") { Description = "fuzz loops per trial for --bugs", DefaultValueFactory = _ => Environment.ProcessorCount };
        var strategies = new Option<string>("--strategy") { Description = "for --bugs: coverage, random, pct, or a comma list", DefaultValueFactory = _ => "coverage" };
        var json = new Option<FileInfo?>("--json") { Description = "for --bugs: write the results as JSON to FILE and the Markdown table beside it (FILE with .md)" };
        var minimizeSeconds = new Option<double>("--minimize-seconds") { Description = "for --bugs: time budget for minimising the first crash of each variant and strategy", DefaultValueFactory = _ => 10 };
        var farm = new Option<bool>("--farm") { Description = "coordinator merge throughput, aggregate execs/s of 1 and 2 workers and corpus propagation latency, on the embedded transport and (with --broker) RabbitMQ" };
        var broker = BrokerOption.Create(required: false);
        var warmup = new Option<double>("--warmup") { Description = "with --farm: seconds of fuzzing before the measured window", DefaultValueFactory = _ => 5 };
        var messages = new Option<int>("--messages") { Description = "with --farm: messages in the backlog the coordinator merges", DefaultValueFactory = _ => 100_000 };
        var cmd = new Command("bench", "Measure the fuzz loop against raw replay (--throughput), time to each seeded bug (--bugs), or soak the model (--soak N)")
            { throughput, breakdown, seconds, runs, soak, jobs, seed, ops, outDir, bugs, bugTimes, trials, cap, workers, strategies, json, minimizeSeconds, farm, broker, warmup, messages };
        cmd.SetAction((r, cancel) =>
        {
            var target = Targets.Factory.Describe(Targets.Factory.DefaultTarget)!;
            if (!BugOption.TryParse(target, r.GetValue(bugs) ?? [], Console.Error, out var bugList)) return Task.FromResult(2);
            int o = Math.Clamp(r.GetValue(ops), 1, ProgramInput.MaxOps);
            if (r.GetValue(bugTimes) is { } which)
                return Task.FromResult(TimeToBugs(target, which, r.GetValue(strategies)!,
                    new TimeToBugSettings([], [], Math.Max(1, r.GetValue(trials)), r.GetValue(cap), Math.Max(1, r.GetValue(workers)), r.GetValue(seed), Math.Max(0.1, r.GetValue(minimizeSeconds))),
                    r.GetValue(json), r.GetValue(outDir), cancel));
            if (r.GetValue(soak) > 0)
                return Task.FromResult(Soak(target.Name, r.GetValue(soak), r.GetValue(jobs), r.GetValue(seed), o, bugList, r.GetValue(outDir), cancel));
            if (r.GetValue(farm))
            {
                int m = r.GetValue(messages);
                if (m < 2 || m > 400_000) { Console.Error.WriteLine("fuzz bench: --messages must be between 2 and 400000"); return Task.FromResult(2); }
                return Farm(new FarmBenchOptions(target.Name, r.GetValue(broker), Math.Max(1, r.GetValue(seconds)), Math.Max(0, r.GetValue(warmup)), Math.Max(1, r.GetValue(runs)), m,
                    r.GetValue(seed), bugList), cancel);
            }
            if (r.GetValue(throughput))
                return Task.FromResult(Throughput(target.Name, r.GetValue(seconds), Math.Max(1, r.GetValue(runs)), r.GetValue(seed), o, bugList, r.GetValue(breakdown)));
            Console.Error.WriteLine("fuzz bench: give --throughput, --farm, --bugs or --soak N");
            return Task.FromResult(2);
        });
        return cmd;
    }

    /// <summary>
    /// Side by side, on one thread: the full fuzz loop (instrumented model, features read, mutation,
    /// corpus) for a run, then a raw replay of exactly the inputs that run executed on the
    /// uninstrumented model with no feedback. The ratio of the two is the loop's overhead.
    /// </summary>
    private static int Throughput(string target, double seconds, int runs, ulong seed, int ops, IReadOnlyList<string> bugs, bool breakdown)
    {
        var factory = Targets.Factory;
        var raw = RawTargets.Load().Create(target, bugs);
        var session = new FuzzSession(new FuzzOptions(target, FuzzStrategy.Coverage, seed, bugs, ops), factory, null);
        var loop = session.CreateLoop();
        Console.WriteLine($"machine: {BenchMachine.Describe()}");
        Console.WriteLine($"settings: target {target}, generated programs up to {ops} ops, {runs} runs of {seconds}s each side, one thread");
        RunLoop(loop, 2, null);
        var warm = new List<byte[]>();
        RunLoop(loop, 1, warm);
        Replay(raw, warm);
        var results = new List<(double Full, double Raw, double Steps, double StepsPerProgram)>();
        for (int run = 0; run < runs; run++)
        {
            var inputs = new List<byte[]>(1 << 20);
            var (execs, t) = RunLoop(loop, seconds, inputs);
            double full = execs / t;
            var (rawExecs, rawT, steps) = Replay(raw, inputs);
            double rawRate = rawExecs / rawT;
            results.Add((full, rawRate, steps / rawT, (double)steps / rawExecs));
            Console.WriteLine($"run {run + 1}: full loop {full,9:N0} execs/s | raw replay {rawRate,9:N0} execs/s | ratio {full / rawRate:F3} | {steps / rawT,12:N0} steps/s raw, {(double)steps / rawExecs:F1} steps/program | corpus {session.Corpus.Count}, ft {session.Features.Features}");
            if (breakdown) Breakdown(factory, target, bugs, inputs, rawRate);
        }
        var byRatio = results.OrderBy(x => x.Full / x.Raw).ToList();
        var mid = byRatio[byRatio.Count / 2];
        double medFull = results.Select(x => x.Full).Order().ElementAt(results.Count / 2);
        double medRaw = results.Select(x => x.Raw).Order().ElementAt(results.Count / 2);
        Console.WriteLine($"median: full loop {medFull:N0} execs/s, raw replay {medRaw:N0} execs/s, ratio {mid.Full / mid.Raw:F3} (median of per-run ratios)");
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            bench = "throughput", machine = BenchMachine.Describe(), ops, seconds, runs, fullExecsPerSecond = medFull, rawExecsPerSecond = medRaw,
            ratio = mid.Full / mid.Raw, rawStepsPerSecond = mid.Steps, stepsPerProgram = mid.StepsPerProgram,
            perRun = results.Select(x => new { full = x.Full, raw = x.Raw, ratio = x.Full / x.Raw }),
        }));
        return 0;
    }

    private static async Task<int> Farm(FarmBenchOptions o, CancellationToken cancel)
    {
        if (o.Broker is { } b)
        {
            if (!BrokerOption.TryOpen(b, "bench", Console.Error, "fuzz bench", out var probe)) return 2;
            await probe.DisposeAsync();
        }
        using var stop = new StopSignal(cancel);
        Console.WriteLine($"machine: {BenchMachine.Describe()}");
        Console.WriteLine($"settings: {o.Runs} runs; merge: a backlog of {o.Messages:N0} messages of one input each, half of them adding a feature; " +
            $"fuzz: {o.Warmup}s warm-up then {o.Seconds}s measured, one loop per worker, workers {(o.Broker is null ? "in this process" : "in this process (embedded) and as `fuzz worker` processes (RabbitMQ)")}, coordinator in this process");
        if (o.Broker is null) Console.WriteLine("no --broker: embedded transport only");
        List<MergeRun> merges;
        List<FarmRun> farms;
        try
        {
            (merges, farms) = await new FarmBench(o, Console.Out).RunAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("fuzz bench: interrupted");
            return 130;
        }
        static double Median(IEnumerable<double> xs) { var a = xs.Order().ToArray(); return a.Length == 0 ? double.NaN : a[a.Length / 2]; }
        var transports = merges.Select(m => m.Transport).Distinct().ToList();
        var summary = new List<object>();
        List<FarmRun> Runs(string t, int workers) => farms.Where(f => f.Transport == t && f.Workers == workers).ToList();
        static double PerRun(List<FarmRun> a, List<FarmRun> b, double scale) => Median(a.Zip(b, (x, y) => x.ExecsPerSecond / (scale * y.ExecsPerSecond)));
        foreach (var t in transports)
        {
            var (ones, twos) = (Runs(t, 1), Runs(t, 2));
            double merge = Median(merges.Where(m => m.Transport == t).Select(m => m.MessagesPerSecond));
            double one = Median(ones.Select(f => f.ExecsPerSecond));
            double two = Median(twos.Select(f => f.ExecsPerSecond));
            double scaling = PerRun(twos, ones, 2);
            double p50 = Median(twos.Where(f => f.P50Ms is not null).Select(f => f.P50Ms!.Value));
            double p99 = Median(twos.Where(f => f.P99Ms is not null).Select(f => f.P99Ms!.Value));
            double runP99 = Median(twos.Where(f => f.RunP99Ms is not null).Select(f => f.RunP99Ms!.Value));
            Console.WriteLine($"median {t}: merge {merge:N0} msgs/s; 1 worker {one:N0} execs/s, 2 workers {two:N0} execs/s, scaling {scaling:F2} x workers; propagation p50 {p50:0} ms, p99 {p99:0} ms (whole runs: p99 {runP99:0} ms)");
            summary.Add(new { transport = t, mergeMessagesPerSecond = merge, oneWorkerExecsPerSecond = one, twoWorkersExecsPerSecond = two, scaling, propagationP50Ms = p50, propagationP99Ms = p99, wholeRunPropagationP99Ms = runP99 });
        }
        if (transports.Count == 2)
        {
            double Rel(int w) => PerRun(Runs("rabbitmq", w), Runs("embedded", w), 1);
            Console.WriteLine($"rabbitmq / embedded execs/s: 1 worker {Rel(1):F2}, 2 workers {Rel(2):F2}");
        }
        Console.WriteLine(JsonSerializer.Serialize(new
        {
            bench = "farm", machine = BenchMachine.Describe(), runs = o.Runs, seconds = o.Seconds, warmup = o.Warmup, messages = o.Messages, summary,
            merges, farms,
        }, new JsonSerializerOptions(StatsJson.Options) { NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
        return 0;
    }

    /// <summary>Where the loop's time goes: the same inputs replayed with each part of the feedback switched on in turn.</summary>
    private static void Breakdown(ITargetFactory factory, string targetName, IReadOnlyList<string> bugs, List<byte[]> inputs, double rawRate)
    {
        var context = TargetContext.Load(factory);
        var target = context.Factory.Create(targetName, bugs);
        var fb = new Fuzz.Engine.Feedback.Feedback(context.EdgeMap, context.EdgeLines);
        var global = new Fuzz.Engine.Feedback.FeatureSet();
        long readTicks = 0, touched = 0;
        double Rate(bool semantic, bool read)
        {
            readTicks = 0;
            touched = 0;
            target.Observer = semantic ? fb.Semantic : null;
            var sw = Stopwatch.StartNew();
            foreach (var d in inputs)
            {
                context.ResetPrev();
                target.Execute(target.Codec.Decode(d));
                if (read)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    fb.Read(global);
                    readTicks += Stopwatch.GetTimestamp() - t0;
                    touched += fb.TouchedVectors;
                }
            }
            double r = inputs.Count / sw.Elapsed.TotalSeconds;
            if (read) Console.WriteLine($"      reading the maps: {readTicks * 1e6 / Stopwatch.Frequency / inputs.Count:F2} us/exec, {touched / inputs.Count} touched 32-byte vectors");
            target.Observer = null;
            fb.Clear();
            return r;
        }
        string F(double r) => $"{r,9:N0} ({r / rawRate:F3})";
        Console.WriteLine($"    instrumented, edges counted {F(Rate(false, false))} | + map read {F(Rate(false, true))} | + semantic features {F(Rate(true, true))}");
    }

    private static (long Execs, double Seconds) RunLoop(FuzzLoop loop, double seconds, List<byte[]>? record)
    {
        loop.Recorder = record;
        long before = loop.Execs;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var sw = Stopwatch.StartNew();
        loop.Run(cts.Token);
        double t = sw.Elapsed.TotalSeconds;
        loop.Recorder = null;
        return (loop.Execs - before, t);
    }

    private static (long Execs, double Seconds, long Steps) Replay(IFuzzTarget raw, List<byte[]> inputs)
    {
        long steps = 0;
        var sw = Stopwatch.StartNew();
        foreach (var data in inputs) steps += raw.Execute(raw.Codec.Decode(data)).Steps;
        return (inputs.Count, sw.Elapsed.TotalSeconds, steps);
    }

    /// <summary>Each variant, each strategy, N seeds: seconds and executions until the first crash, capped; the table, speed-ups and JSON.</summary>
    private static int TimeToBugs(TargetDescription target, string which, string strategyList, TimeToBugSettings partial, FileInfo? json, DirectoryInfo? outDir, CancellationToken cancel)
    {
        var ids = which == "all" ? target.Variants.Select(b => b.Id).ToList() : which.Split(',', StringSplitOptions.RemoveEmptyEntries).Distinct().ToList();
        foreach (var id in ids)
            if (target.FindVariant(id) is null) { Console.Error.WriteLine($"fuzz bench: unknown bug variant '{id}'"); return 2; }
        var strategies = new List<string>();
        foreach (var name in strategyList.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!FuzzStrategy.TryParse(name, out var k)) { Console.Error.WriteLine($"fuzz bench: unknown strategy '{name}'"); return 2; }
            if (!strategies.Contains(k.Name)) strategies.Add(k.Name);
        }
        if (ids.Count == 0 || strategies.Count == 0) { Console.Error.WriteLine("fuzz bench: --bugs and --strategy need at least one id each"); return 2; }
        var settings = partial with { Bugs = ids, Strategies = strategies };
        string machine = BenchMachine.Host, commit = BenchMachine.Commit();
        Console.WriteLine($"machine: {machine}, commit {commit}");
        var report = new TimeToBugReport(settings, TimeToBug.Run(target, settings, Console.Out, cancel));
        string md = report.ToMarkdown();
        Console.WriteLine();
        Console.Write(md);
        foreach (var m in report.Means)
            Console.WriteLine($"speed-up of coverage over {m.Baseline}: geometric mean {m.GeometricMean:F2}x over {m.Bugs} variants");
        string? path = json?.FullName ?? (outDir is null ? null : Path.Combine(outDir.FullName, "time-to-bug.json"));
        if (path is null) return 0;
        string mdPath = Path.ChangeExtension(path, ".md");
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            AtomicFile.Write(path, report.ToJson(machine, commit));
            AtomicFile.Write(mdPath, System.Text.Encoding.UTF8.GetBytes(md));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"fuzz bench: cannot write '{path}': {e.Message}");
            return 2;
        }
        Console.WriteLine($"written: {path}, {mdPath}");
        return 0;
    }

    private static int Soak(string target, long n, int jobs, ulong seed, int ops, IReadOnlyList<string> bugs, DirectoryInfo? outDir, CancellationToken cancel)
    {
        Console.WriteLine($"machine: {BenchMachine.Describe()}");
        Console.WriteLine($"soak: {n:N0} random programs ({ops} ops) under random schedules, seeds {seed}..{seed + (ulong)n - 1}, {jobs} threads, bugs: {(bugs.Count > 0 ? string.Join(",", bugs) : "none")}");
        var r = SoakRunner.Run(Targets.Factory, target, bugs, n, jobs, seed, ops, cancel, d => Console.WriteLine($"  {d:N0} programs"));
        Console.WriteLine($"programs: {r.Programs:N0}  steps: {r.Steps:N0}  time: {r.Elapsed.TotalSeconds:F1}s  violations: {r.Findings.Count}");
        foreach (var g in r.Findings.GroupBy(f => f.Invariant))
            Console.WriteLine($"  invariant {g.Key}: {g.Count()} (first: seed {g.First().Seed}: {g.First().Detail})");
        if (outDir is not null)
        {
            outDir.Create();
            foreach (var f in r.Findings.Take(100)) AtomicFile.Write(Path.Combine(outDir.FullName, $"soak-{f.Seed}.bin"), f.Input);
            AtomicFile.Write(Path.Combine(outDir.FullName, "soak.json"), JsonSerializer.SerializeToUtf8Bytes(new
            {
                bench = "soak", machine = BenchMachine.Describe(), programs = r.Programs, steps = r.Steps, seconds = r.Elapsed.TotalSeconds,
                violations = r.Findings.Count, seeds = r.Findings.Select(f => f.Seed).Take(100),
            }));
        }
        return r.Findings.Count == 0 ? 0 : 1;
    }
}
