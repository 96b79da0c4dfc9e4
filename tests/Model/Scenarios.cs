using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;
using Op = Fuzz.Targets.Mmu.MmuTarget.Op;

namespace Fuzz.Tests.Model;

/// <summary>
/// The hand-written scenarios of the seeded variants: with the variant on, some schedule breaks the
/// named invariant (found by a fixed sweep of seeded random schedules, then replayed from its
/// recorded choice stream); with the kernel's code, no schedule in the sweep breaks anything.
/// </summary>
public class Scenarios
{
    private const int Sweep = 100_000;

    internal static OpCall Call(int thread, Op op, int a0 = 0, int a1 = 0, int a2 = 0, int a3 = 0) =>
        new((byte)thread, (byte)op, (byte)a0, (byte)a1, (byte)a2, (byte)a3);

    // config bit 0 clear = A/D bits on; bits 1-2 = 2 → need_resched after 4 steps
    private const byte AdOn = 0, AdOnReschedFast = 4;

    public static readonly TheoryData<string, Invariant[], byte, OpCall[]> Cases = new()
    {
        // A fault that skips the seq re-check installs a writable SPTE while mprotect(PROT_READ) runs.
        { Bugs.StaleFault.Id, [Invariant.NoStaleInstall, Invariant.InvalidationCompleteness], AdOn,
            [Call(0, Op.PageFault, 0, 1, 1, 0), Call(1, Op.MprotectReadOnly, 0, 1, 0)] },
        // Lockless aging elides the lock on the empty rmap, a fault adds, the read-only unlock writes 0 back.
        { Bugs.RoUnlockEmpty.Id, [Invariant.RmapLock, Invariant.RmapCoverage], AdOn,
            [Call(0, Op.ClearYoung, 0, 2, 0), Call(1, Op.PageFault, 0, 2, 0, 0)] },
        // Lockless aging walks with the locked walker while drop_spte has cleared an SPTE still in the rmap.
        { Bugs.LockedWalkerLockless.Id, [Invariant.RmapContents], AdOn,
            [Call(1, Op.PageFault, 0, 3, 0, 0), Call(0, Op.ClearYoung, 0, 3, 0), Call(1, Op.ZapShadowPage, 0, 0)] },
        // test_young returns with the rmap still locked; the next rmap add spins forever.
        { Bugs.TestAgeLeak.Id, [Invariant.Liveness], AdOn,
            [Call(0, Op.PageFault, 0, 4, 0, 0), Call(0, Op.TestYoung, 0, 4, 0), Call(0, Op.PageFault, 0, 4, 0, 1)] },
        // The mprotect zap yields mmu_lock (need_resched) with zapped SPTEs not yet flushed.
        { Bugs.YieldNoFlush.Id, [Invariant.FlushBeforeYield], AdOnReschedFast,
            [Call(0, Op.PageFault, 0, 0, 1, 0), Call(0, Op.PageFault, 0, 1, 1, 0), Call(1, Op.GuestAccess, 0, 0, 0, 0), Call(0, Op.MprotectReadOnly, 0, 0, 7)] },
        // replace_page() without the invalidate bracket: a fault that resolved the old pfn installs it after the host PTE moved on.
        { Bugs.ChangePte.Id, [Invariant.NoStaleInstall, Invariant.InvalidationCompleteness], AdOn,
            [Call(0, Op.PageFault, 0, 5, 0, 0), Call(1, Op.ReplacePage, 0, 5), Call(0, Op.PageFault, 0, 5, 0, 1), Call(0, Op.GuestAccess, 0, 5, 0, 0)] },
        // A write's fast_page_fault() on the SPTE dirty logging write-protected marks the gfn before its cmpxchg;
        // KVM_GET_DIRTY_LOG harvests the bit and returns after the cmpxchg restored W, with the gfn unmarked.
        { Bugs.FastPfDirtyBeforeCmpxchg.Id, [Invariant.DirtyLogging], AdOn,
            [Call(0, Op.PageFault, 0, 1, 1, 0), Call(1, Op.DirtyLogEnable, 0), Call(0, Op.GuestAccess, 0, 1, 1, 0), Call(1, Op.DirtyLogGet, 0), Call(0, Op.GuestAccess, 0, 1, 1, 0)] },
        // The vCPU leaves translation 1's root for translation 2; zap-oldest zaps that unused root and orphans its
        // level-1 child, still hashed. Back on translation 1, the new root's fault must relink the child: skipping
        // the hash lookup allocates a duplicate of (gfn, role).
        { Bugs.DirectSkipHash.Id, [Invariant.HashUniqueness], AdOn,
            [Call(0, Op.PageFault, 0, 1, 0, 1), Call(0, Op.PageFault, 0, 1, 0, 2), Call(0, Op.ZapOldest, 0), Call(0, Op.PageFault, 0, 1, 0, 1)] },
        // The vCPU polls a gfn of slot 2 while dirty logging on slot 0 moves the generation on and slot 2 is created: an
        // access whose MMIO SPTE went stale faults on the old memslots and caches its MMIO info with the in-progress
        // generation, and the next access matches it before the update ends.
        { Bugs.MmioInFlux.Id, [Invariant.MmioCurrency], AdOn,
            [Call(0, Op.MmioAccess, 2, 1, 0, 3), Call(1, Op.DirtyLogEnable, 0), Call(1, Op.MemslotCreate, 2)] },
    };

    private static ProgramInput Program(byte config, OpCall[] ops) =>
        new(ops.Max(o => o.Thread) + 1, config, ops, []);

    [Theory]
    [MemberData(nameof(Cases))]
    public void Variant_breaks_the_named_invariant_and_replays(string bug, Invariant[] invariants, byte config, OpCall[] ops)
    {
        var p = Program(config, ops);
        var runner = new MmuRunner(new BugSet([bug]));
        ExecResult? found = null;
        for (int seed = 0; seed < Sweep && found is null; seed++)
        {
            var r = runner.Run(p, new RandomStrategy((ulong)seed));
            if (r.Violation is not null) found = r;
        }
        Assert.NotNull(found);
        var first = found.Value;
        Assert.Contains((Invariant)first.Violation!.Id, invariants);

        var replayInput = MmuTarget.Codec.Encode(p.WithChoices(first.Schedule));
        var replay = runner.Run(MmuTarget.Codec.Decode(replayInput));
        Assert.NotNull(replay.Violation);
        Assert.Equal(first.Violation.Id, replay.Violation!.Id);
        Assert.Equal(first.Violation.Detail, replay.Violation.Detail);
        Assert.Equal(first.Schedule, replay.Schedule);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Kernel_code_passes_the_same_scenario(string bug, Invariant[] invariants, byte config, OpCall[] ops)
    {
        _ = (bug, invariants);
        var p = Program(config, ops);
        var runner = new MmuRunner(BugSet.None);
        for (int seed = 0; seed < Sweep; seed++)
        {
            var r = runner.Run(p, new RandomStrategy((ulong)seed));
            Assert.True(r.Violation is null, $"seed {seed}: {r.Violation?.Message}\n{r.Violation?.Dump}");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Committed_seed_input_reproduces_the_variant(string bug, Invariant[] invariants, byte config, OpCall[] ops)
    {
        _ = (config, ops);
        string path = Path.Combine(Corpus.Dir, $"{bug}.bin");
        var p = MmuTarget.Codec.Decode(File.ReadAllBytes(path));
        var withBug = new MmuRunner(new BugSet([bug])).Run(p);
        Assert.NotNull(withBug.Violation);
        Assert.Contains((Invariant)withBug.Violation!.Id, invariants);
        Assert.Null(new MmuRunner(BugSet.None).Run(p).Violation);
    }
}

internal static class Corpus
{
    public static string Dir
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !File.Exists(Path.Combine(d.FullName, "Fuzz.sln"))) d = d.Parent;
            return Path.Combine(d!.FullName, "corpus", "mmu");
        }
    }
}
