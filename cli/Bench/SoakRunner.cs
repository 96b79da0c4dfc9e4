using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Cli.Bench;

/// <summary>A violation found by a soak run: the program with the schedule that broke it, ready for `fuzz repro`.</summary>
public sealed record SoakFinding(ulong Seed, byte[] Input, int Invariant, string Detail);

public sealed record SoakResult(long Programs, long Steps, TimeSpan Elapsed, IReadOnlyList<SoakFinding> Findings);

/// <summary>
/// Runs N random programs on a target, each under a seeded random schedule, across J threads (one target each).
/// Program i uses seed (seed + i), so any finding replays alone from its seed or its saved input.
/// </summary>
public static class SoakRunner
{
    public static SoakResult Run(
        ITargetFactory factory, string target, IReadOnlyCollection<string> bugs, long programs, int jobs, ulong seed, int ops, CancellationToken cancel, Action<long>? progress = null)
    {
        long next = -1, steps = 0, done = 0;
        var findings = new List<SoakFinding>();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var threads = Enumerable.Range(0, Math.Max(1, jobs)).Select(_ => new Thread(() =>
        {
            var runner = factory.Create(target, bugs);
            long localSteps = 0;
            while (!cancel.IsCancellationRequested)
            {
                long i = Interlocked.Increment(ref next);
                if (i >= programs) break;
                ulong s = seed + (ulong)i;
                var p = ProgramGenerator.Random(runner.Vocabulary, s, ops, 0);
                var r = runner.Execute(p, new RandomStrategy(s ^ 0x5eed5eed5eedUL));
                localSteps += r.Steps;
                if (r.Violation is { } v)
                    lock (findings) findings.Add(new SoakFinding(s, runner.Codec.Encode(p.WithChoices(r.Schedule)), v.Id, v.Detail));
                long d = Interlocked.Increment(ref done);
                if (progress is not null && d % 100_000 == 0) progress(d);
            }
            Interlocked.Add(ref steps, localSteps);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        return new SoakResult(Math.Min(done, programs), steps, sw.Elapsed, findings.OrderBy(f => f.Seed).ToList());
    }
}
