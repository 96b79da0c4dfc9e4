using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;
using Op = Fuzz.Targets.Mmu.MmuTarget.Op;

namespace Fuzz.Tests.Model;

/// <summary>
/// The shadow pages on one or two threads: faults link level-1 pages under per-translation roots,
/// zap-oldest leaves a still-hashed child that the hash lookup relinks, zap_all_fast frees every
/// obsolete page but the roots vCPUs still hold, and faulting past n_max_mmu_pages recycles the oldest.
/// </summary>
public class ShadowPages
{
    private static Kvm Run(int threads, params OpCall[] ops)
    {
        var runner = new MmuRunner(BugSet.None);
        var r = runner.Run(new ProgramInput(threads, 0, ops, []));
        Assert.True(r.Violation is null, r.Violation?.Message);
        return runner.Kvm;
    }

    private static List<ulong> Live(Kvm kvm) => kvm.ShadowPages.Where(kvm.Mem.IsLive).ToList();

    private static ulong Field(Kvm kvm, ulong sp, int field) => kvm.Mem.Peek(Kvm.SpField(sp, field));

    [Fact]
    public void A_fault_links_a_level_1_page_under_its_translations_root()
    {
        var kvm = Run(1, Scenarios.Call(0, Op.PageFault, 1, 3, 0, 2));
        ulong root = kvm.Mem.Peek(kvm.VcpuRootAddr(0));
        ulong sptep = kvm.SpteAddr(2, Kvm.GfnOf(1, 3));
        Assert.NotEqual(0UL, sptep);
        var info = kvm.SpteInfo(sptep);
        Assert.Equal((Kvm.GfnOf(1, 3), 1, 2), (info.Gfn, info.Level, info.Alias));
        ulong parent = Kvm.SpSpte(root, 1);
        Assert.Equal(info.Sp, Kvm.SpteToChildSp(kvm.Mem.Peek(parent)));
        Assert.Equal(parent, Field(kvm, info.Sp, ShadowPage.ParentPtes));
        Assert.Equal(1UL, Field(kvm, root, ShadowPage.RootCount));
        Assert.Equal((ulong)(Kvm.MaxVcpus - 1), Field(kvm, kvm.Mem.Peek(kvm.VcpuRootAddr(1)), ShadowPage.RootCount));
    }

    [Fact]
    public void Zap_oldest_orphans_a_child_that_the_next_fault_relinks()
    {
        OpCall[] ops = [Scenarios.Call(0, Op.PageFault, 0, 1, 0, 1), Scenarios.Call(0, Op.PageFault, 0, 1, 0, 2), Scenarios.Call(0, Op.ZapOldest, 0)];
        var before = Run(1, ops);
        ulong child = before.SpteInfo(before.SpteAddr(1, 1)).Sp;
        Assert.Equal(0UL, Field(before, child, ShadowPage.ParentPtes));

        var after = Run(1, [.. ops, Scenarios.Call(0, Op.PageFault, 0, 1, 0, 1)]);
        Assert.Equal(child, after.SpteInfo(after.SpteAddr(1, 1)).Sp);
        Assert.NotEqual(0UL, Field(after, child, ShadowPage.ParentPtes));
        Assert.Single(Live(after), p => SpRole.Level(Field(after, p, ShadowPage.Role)) == 1 && SpRole.Alias(Field(after, p, ShadowPage.Role)) == 1);
    }

    [Fact]
    public void Zap_all_fast_frees_all_but_the_roots_the_vcpus_hold_until_they_reload()
    {
        OpCall[] ops = [Scenarios.Call(0, Op.PageFault, 0, 1, 1, 1), Scenarios.Call(0, Op.PageFault, 1, 2, 0, 0), Scenarios.Call(0, Op.ZapAllFast)];
        var kvm = Run(1, ops);
        ulong root0 = kvm.Mem.Peek(kvm.VcpuRootAddr(0));
        Assert.Equal([root0], Live(kvm));
        Assert.True(SpRole.IsInvalid(Field(kvm, root0, ShadowPage.Role)));
        Assert.Equal((ulong)Kvm.MaxVcpus, Field(kvm, root0, ShadowPage.RootCount));
        Assert.Equal(0UL, kvm.SpteAddr(1, 1));

        kvm = Run(1, [.. ops, Scenarios.Call(0, Op.PageFault, 0, 1, 0, 1)]);
        Assert.NotEqual(0UL, kvm.SpteAddr(1, 1));
        Assert.All(Live(kvm), p => Assert.Equal(p == root0, SpRole.IsInvalid(Field(kvm, p, ShadowPage.Role))));
        Assert.Equal((ulong)Kvm.MaxVcpus - 1, Field(kvm, root0, ShadowPage.RootCount));
        Assert.Equal(3, Live(kvm).Count);
    }

    [Fact]
    public void Faulting_past_the_page_limit_recycles_the_oldest_pages()
    {
        var kvm = Run(1, Scenarios.Call(0, Op.PageFaultAliases, 0, 0, 0, 47), Scenarios.Call(0, Op.PageFaultAliases, 1, 0, 0, 47));
        Assert.True(kvm.Mem.Peek(kvm.UsedPagesAddr) <= Kvm.DefaultMaxMmuPages);
        Assert.True(kvm.ShadowPages.Count > (int)Kvm.DefaultMaxMmuPages);
        Assert.Equal(0UL, kvm.SpteAddr(0, 0));
        Assert.NotEqual(0UL, kvm.SpteAddr(47, Kvm.GfnOf(1, 0)));
    }

    [Fact]
    public void A_small_page_limit_makes_faults_recycle_pages()
    {
        var runner = new MmuRunner(BugSet.None);
        var r = runner.Run(new ProgramInput(1, 8, [Scenarios.Call(0, Op.PageFaultAliases, 0, 2, 0, 11)], []));
        Assert.True(r.Violation is null, r.Violation?.Message);
        var kvm = runner.Kvm;
        Assert.Equal(Kvm.SmallMaxMmuPages, kvm.Mem.Peek(kvm.MaxPagesAddr));
        Assert.True(kvm.Mem.Peek(kvm.UsedPagesAddr) <= Kvm.SmallMaxMmuPages);
        Assert.True(Live(kvm).Count < kvm.ShadowPages.Count);
        Assert.NotEqual(0UL, kvm.SpteAddr(11, 2));
    }

    /// <summary>Shadow-page operations with faults, aging and invalidations under PCT schedules: nothing breaks.</summary>
    [Fact]
    public void Zaps_racing_faults_break_nothing()
    {
        var runner = new MmuRunner(BugSet.None);
        var rng = new Random(14);
        for (int seed = 0; seed < 3_000; seed++)
        {
            var ops = new OpCall[8];
            for (int i = 0; i < ops.Length; i++)
            {
                var op = rng.Next(5) switch { 0 => Op.ZapOldest, 1 => Op.ZapAllFast, 2 => Op.ClearYoung, 3 => Op.MprotectReadOnly, _ => Op.PageFault };
                ops[i] = op == Op.PageFault || rng.Next(3) == 0
                    ? Scenarios.Call(rng.Next(3), rng.Next(2) == 0 ? Op.PageFault : Op.PageFaultAliases, rng.Next(2), rng.Next(4), rng.Next(2), rng.Next(4))
                    : Scenarios.Call(rng.Next(3), op, rng.Next(2), rng.Next(4), rng.Next(2));
            }
            var p = new ProgramInput(3, (byte)(rng.Next(2) | (rng.Next(4) << 1) | (rng.Next(2) << 3)), ops, []);
            var r = runner.Run(p, new PctStrategy((ulong)seed, 1 + seed % 3, 3, 200));
            Assert.True(r.Violation is null, $"seed {seed}: {r.Violation?.Message}\n{r.Violation?.Dump}");
        }
    }
}
