using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Fuzz.Engine.Input;
using Fuzz.Targets.Mmu;
using Fuzz.Worker;

namespace Fuzz.Coordinator.Commands;

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
        var outDir = new Option<DirectoryInfo?>("--out") { Description = "where --soak writes failing inputs and the JSON result" };
        var bugs = BugOption.Create();
        var cmd = new Command("bench", "Measure the model's speed (--throughput) or soak it with random programs (--soak N)")
            { throughput, seconds, runs, soak, jobs, seed, ops, outDir, bugs };
        cmd.SetAction((r, cancel) =>
        {
            if (!BugOption.TryParse(r.GetValue(bugs) ?? [], Console.Error, out var bugSet)) return Task.FromResult(2);
            int o = Math.Clamp(r.GetValue(ops), 1, ProgramInput.MaxOps);
            if (r.GetValue(soak) > 0)
                return Task.FromResult(Soak(r.GetValue(soak), r.GetValue(jobs), r.GetValue(seed), o, bugSet, r.GetValue(outDir), cancel));
            if (r.GetValue(throughput))
                return Task.FromResult(Throughput(r.GetValue(seconds), Math.Max(1, r.GetValue(runs)), r.GetValue(seed), o, bugSet));
            Console.Error.WriteLine("fuzz bench: give --throughput or --soak N");
            return Task.FromResult(2);
        });
        return cmd;
    }

    private static string Machine() =>
        $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}, commit {Commit()}";

    private static string Commit()
    {
        try
        {
            var p = Process.Start(new ProcessStartInfo("git", "rev-parse --short HEAD") { RedirectStandardOutput = true, RedirectStandardError = true });
            string s = p!.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return s.Length > 0 ? s : "unknown";
        }
        catch (Exception) { return "unknown"; }
    }

    /// <summary>Replays a fixed set of random programs with their own choice streams, on one thread, for a fixed time.</summary>
    private static int Throughput(double seconds, int runs, ulong seed, int ops, BugSet bugs)
    {
        var inputs = Enumerable.Range(0, 1024).Select(i => ProgramGenerator.Random(MmuTarget.Vocabulary, seed + (ulong)i, ops, 256)).ToArray();
        var runner = new MmuRunner(bugs);
        foreach (var p in inputs) runner.Run(p);
        Console.WriteLine($"machine: {Machine()}");
        Console.WriteLine($"settings: {ops} ops per program, {inputs.Length} programs, {runs} runs of {seconds}s, one thread, uninstrumented model");
        var results = new List<(double Programs, double Steps, double AvgSteps)>();
        for (int run = 0; run < runs; run++)
        {
            long programs = 0, steps = 0;
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < seconds)
            {
                for (int k = 0; k < 64; k++)
                {
                    var r = runner.Run(inputs[(int)(programs % inputs.Length)]);
                    programs++;
                    steps += r.Steps;
                }
            }
            double t = sw.Elapsed.TotalSeconds;
            results.Add((programs / t, steps / t, (double)steps / programs));
            Console.WriteLine($"run {run + 1}: {programs / t,10:N0} programs/s  {steps / t,12:N0} steps/s  ({(double)steps / programs:F1} steps/program)");
        }
        var med = results.OrderBy(x => x.Programs).ElementAt(results.Count / 2);
        Console.WriteLine($"median: {med.Programs:N0} programs/s, {med.Steps:N0} steps/s, {med.AvgSteps:F1} steps/program");
        Console.WriteLine(JsonSerializer.Serialize(new { bench = "throughput", machine = Machine(), ops, seconds, runs, programsPerSecond = med.Programs, stepsPerSecond = med.Steps, stepsPerProgram = med.AvgSteps }));
        return 0;
    }

    private static int Soak(long n, int jobs, ulong seed, int ops, BugSet bugs, DirectoryInfo? outDir, CancellationToken cancel)
    {
        Console.WriteLine($"machine: {Machine()}");
        Console.WriteLine($"soak: {n:N0} random programs ({ops} ops) under random schedules, seeds {seed}..{seed + (ulong)n - 1}, {jobs} threads, bugs: {(bugs.Ids.Any() ? string.Join(",", bugs.Ids) : "none")}");
        var r = SoakRunner.Run(n, jobs, seed, ops, bugs, cancel, d => Console.WriteLine($"  {d:N0} programs"));
        Console.WriteLine($"programs: {r.Programs:N0}  steps: {r.Steps:N0}  time: {r.Elapsed.TotalSeconds:F1}s  violations: {r.Findings.Count}");
        foreach (var g in r.Findings.GroupBy(f => f.Invariant))
            Console.WriteLine($"  invariant {g.Key}: {g.Count()} (first: seed {g.First().Seed}: {g.First().Detail})");
        if (outDir is not null)
        {
            outDir.Create();
            foreach (var f in r.Findings.Take(100)) Atomic.Write(Path.Combine(outDir.FullName, $"soak-{f.Seed}.bin"), f.Input);
            Atomic.Write(Path.Combine(outDir.FullName, "soak.json"), JsonSerializer.SerializeToUtf8Bytes(new
            {
                bench = "soak", machine = Machine(), programs = r.Programs, steps = r.Steps, seconds = r.Elapsed.TotalSeconds,
                violations = r.Findings.Count, seeds = r.Findings.Select(f => f.Seed).Take(100),
            }));
        }
        return r.Findings.Count == 0 ? 0 : 1;
    }
}

public static class Atomic
{
    /// <summary>Write to a temporary file in the same directory, then rename over the target.</summary>
    public static void Write(string path, byte[] bytes)
    {
        string tmp = path + $".tmp{Environment.ProcessId}";
        File.WriteAllBytes(tmp, bytes);
        File.Move(tmp, path, overwrite: true);
    }
}
