using Fuzz.Cli.Commands;
using Fuzz.Engine.Fuzzing;
using Fuzz.Targets;
using Fuzz.Targets.Mmu;
using Fuzz.Tests.Model;
using Xunit;

namespace Fuzz.Tests.Cli;

/// <summary>What the commands know of a target comes through the factory's description and the target interface.</summary>
public class TargetInterfaceTests
{
    private static readonly ITargetFactory Factory = new TargetFactory();

    [Fact]
    public void The_factory_describes_the_default_target_with_its_variants_and_invariants()
    {
        Assert.Equal(MmuTarget.Name, Factory.DefaultTarget);
        var d = Factory.Describe(MmuTarget.Name);
        Assert.NotNull(d);
        Assert.Same(MmuTarget.Vocabulary, d!.Vocabulary);
        Assert.Equal(Bugs.All.Select(b => (b.Id, b.Source, b.Defect, (int)b.Invariant)), d.Variants.Select(v => (v.Id, v.Source, v.Defect, v.Invariant)));
        Assert.Equal(Invariants.Names.Keys.Order().Select(i => (int)i), d.Invariants.Select(i => i.Id));
        Assert.All(d.Variants, v => Assert.Contains(d.Invariants, i => i.Id == v.Invariant));
        Assert.Null(Factory.Describe("no-such-target"));
    }

    [Fact]
    public void Repro_header_and_traced_outcome_are_what_explain_prints()
    {
        var target = Factory.Create(MmuTarget.Name, [Bugs.StaleFault.Id]);
        var program = target.Codec.Decode(File.ReadAllBytes(Path.Combine(Corpus.Dir, "stale-fault.bin")));
        var (result, outcome) = target.Repro(program, trace: true);
        Assert.NotNull(result.Violation);
        Assert.Contains("timeline", outcome);
        Assert.Equal(target.Explain(program), target.Header(program) + outcome);
        Assert.DoesNotContain("timeline", target.Repro(program, trace: false).Outcome);
    }

    [Fact]
    public void Repro_of_an_unknown_target_exits_2_naming_it()
    {
        var e = new StringWriter();
        int code = ReproCommand.Run(new FileInfo(Path.Combine(Corpus.Dir, "stale-fault.bin")), false, [], new StringWriter(), e, "no-such-target");
        Assert.Equal(2, code);
        Assert.Equal("fuzz repro: unknown target 'no-such-target' (see `fuzz targets`)", e.ToString().TrimEnd());
    }

    [Fact]
    public void Bug_ids_are_checked_against_the_target_and_come_back_once_each_in_order()
    {
        var d = Factory.Describe(MmuTarget.Name)!;
        var e = new StringWriter();
        Assert.True(BugOption.TryParse(d, [$"{Bugs.YieldNoFlush.Id},{Bugs.StaleFault.Id}", Bugs.YieldNoFlush.Id], e, out var bugs));
        Assert.Equal([Bugs.StaleFault.Id, Bugs.YieldNoFlush.Id], bugs);
        Assert.False(BugOption.TryParse(d, [Bugs.StaleFault.Id, "no-such-bug"], e, out _));
        Assert.Equal("fuzz: unknown bug variant 'no-such-bug' (see `fuzz targets`)", e.ToString().TrimEnd());
    }
}
