using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;

namespace Fuzz.Cli.Bench;

/// <summary>A violation found by a soak run: the program with the schedule that broke it, ready for `fuzz repro`.</summary>
public sealed record SoakFinding(ulong Seed, byte[] Input, int Invariant, string Detail);

public sealed record SoakResult(long Programs, long Steps, TimeSpan Elapsed, IReadOnlyList<SoakFinding> Findings);

/// <summary>
/// Runs N random programs, each under a seeded random schedule, across J threads (one runner each).
/// Program i uses seed (seed + i), so any finding replays alone from its seed or its saved input.
/// </summary>
public static class SoakRunner
{
    public static SoakResult Run(long programs, int jobs, ulong seed, int ops, BugSet bugs, CancellationToken cancel, Action<long>? progress = null)
    {
        long next = -1, steps = 0, done = 0;
        var findings = new List<SoakFinding>();
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var threads = Enumerable.Range(0, Math.Max(1, jobs)).Select(_ => new Thread(() =>
        {
            var runner = new MmuRunner(bugs);
            long localSteps = 0;
            while (!cancel.IsCancellationRequested)
            {
                long i = Interlocked.Increment(ref next);
                if (i >= programs) break;
                ulong s = seed + (ulong)i;
                var p = ProgramGenerator.Random(MmuTarget.Vocabulary, s, ops, 0);
                var r = runner.Run(p, new RandomStrategy(s ^ 0x5eed5eed5eedUL));
                localSteps += r.Steps;
                if (r.Violation is { } v)
                    lock (findings) findings.Add(new SoakFinding(s, MmuTarget.Codec.Encode(p.WithChoices(r.Schedule)), v.Id, v.Detail));
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
