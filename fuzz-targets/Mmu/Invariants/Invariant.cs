using Fuzz.Engine.Invariants;

namespace Fuzz.Targets.Mmu;

/// <summary>The invariants of mmu-model.md §4 that this model checks, numbered as there.</summary>
public enum Invariant
{
    RmapCoverage = 1,
    RmapContents = 2,
    DescShape = 3,
    RmapLock = 4,
    ParentPointers = 5,
    HashUniqueness = 6,
    SafeFree = 7,
    WritableBits = 8,
    InvalidationCounters = 9,
    NoStaleInstall = 10,
    InvalidationCompleteness = 11,
    FlushBeforeYield = 12,
    DirtyLogging = 13,
    AgingHarmless = 14,
    MmioCurrency = 15,
    Liveness = 18,
}

public static class Invariants
{
    public static readonly IReadOnlyDictionary<Invariant, string> Names = new Dictionary<Invariant, string>
    {
        [Invariant.RmapCoverage] = "Rmap coverage",
        [Invariant.RmapContents] = "Rmap contents",
        [Invariant.DescShape] = "Descriptor shape",
        [Invariant.RmapLock] = "Rmap lock",
        [Invariant.ParentPointers] = "Parent pointers",
        [Invariant.HashUniqueness] = "Hash uniqueness",
        [Invariant.SafeFree] = "Safe free",
        [Invariant.WritableBits] = "Writable bits",
        [Invariant.InvalidationCounters] = "Invalidation counters",
        [Invariant.NoStaleInstall] = "No stale install",
        [Invariant.InvalidationCompleteness] = "Invalidation completeness",
        [Invariant.FlushBeforeYield] = "Flush before yield",
        [Invariant.DirtyLogging] = "Dirty logging",
        [Invariant.AgingHarmless] = "Aging is harmless",
        [Invariant.MmioCurrency] = "MMIO currency",
        [Invariant.Liveness] = "Liveness",
    };

    public static string Name(this Invariant invariant) => Names[invariant];

    /// <summary>The engine's violation of <paramref name="invariant"/>, found at <paramref name="site"/>: the one place the typed invariant becomes an id.</summary>
    public static InvariantViolation Violation(this Invariant invariant, string site, string detail, string dump = "") =>
        new((int)invariant, Names[invariant], detail, dump) { Site = site };
}
