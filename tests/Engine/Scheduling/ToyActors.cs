using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Tests.Engine.Scheduling;

/// <summary>
/// Actors of a few scheduling points each that log who ran at every step, and what a log says
/// the machine must have counted.
/// </summary>
internal static class ToyActors
{
    public static readonly RuntimeInvariants Invariants = new(7, "safe free", 9, "liveness");

    /// <summary>A body with <paramref name="points"/> scheduling points: it runs points + 1 steps and logs its id at each.</summary>
    public static Co Steps(Machine m, List<int> log, int points)
    {
        for (int i = 0; i < points; i++)
        {
            log.Add(m.Current!.Id);
            yield return null;
        }
        log.Add(m.Current!.Id);
    }

    /// <summary>Runs one actor per entry of <paramref name="points"/> under <paramref name="strategy"/>; returns who ran at each step.</summary>
    public static List<int> Run(Machine m, int[] points, IScheduleStrategy strategy)
    {
        var log = new List<int>();
        for (int i = 0; i < points.Length; i++) m.Spawn($"t{i}", Steps(m, log, points[i]));
        m.Run(strategy);
        return log;
    }

    /// <summary>One to four actors of up to eight scheduling points, and a seed.</summary>
    public static Arbitrary<(int[] Points, ulong Seed)> Cases { get; } =
        Gen.Zip(Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 8), n)), Gen.Choose(0, int.MaxValue), (p, s) => (p, (ulong)s)).ToArbitrary();

    /// <summary>Steps at which two or more actors had not finished (none of them ever waits).</summary>
    public static int Decisions(List<int> log)
    {
        int n = 0;
        for (int i = 0; i < log.Count; i++)
            if (log.Skip(i).Distinct().Count() > 1) n++;
        return n;
    }

    /// <summary>Steps where the actor that ran last had not finished and another ran.</summary>
    public static int Preemptions(List<int> log)
    {
        int n = 0;
        for (int i = 1; i < log.Count; i++)
            if (log[i] != log[i - 1] && log.LastIndexOf(log[i - 1]) >= i) n++;
        return n;
    }

    public static int ContextSwitches(List<int> log)
    {
        int n = 0;
        for (int i = 1; i < log.Count; i++)
            if (log[i] != log[i - 1]) n++;
        return n;
    }
}
