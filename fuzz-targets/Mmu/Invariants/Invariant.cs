namespace Fuzz.Targets.Mmu;

/// <summary>The invariants of mmu-model.md §4 that this model checks.</summary>
public static class Inv
{
    public const int RmapCoverage = 1, RmapContents = 2, DescShape = 3, RmapLock = 4, SafeFree = 7,
        WritableBits = 8, InvalidationCounters = 9, NoStaleInstall = 10, InvalidationCompleteness = 11,
        FlushBeforeYield = 12, DirtyLogging = 13, AgingHarmless = 14, Liveness = 18;

    public static readonly IReadOnlyDictionary<int, string> Names = new Dictionary<int, string>
    {
        [RmapCoverage] = "Rmap coverage",
        [RmapContents] = "Rmap contents",
        [DescShape] = "Descriptor shape",
        [RmapLock] = "Rmap lock",
        [SafeFree] = "Safe free",
        [WritableBits] = "Writable bits",
        [InvalidationCounters] = "Invalidation counters",
        [NoStaleInstall] = "No stale install",
        [InvalidationCompleteness] = "Invalidation completeness",
        [FlushBeforeYield] = "Flush before yield",
        [DirtyLogging] = "Dirty logging",
        [AgingHarmless] = "Aging is harmless",
        [Liveness] = "Liveness",
    };

    public static Fuzz.Engine.Invariants.InvariantViolation Violation(int id, string site, string detail, string dump = "") =>
        new(id, Names[id], detail, dump) { Site = site };
}
