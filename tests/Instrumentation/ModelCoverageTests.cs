using System.Reflection;
using Fuzz.Coverage;
using Fuzz.Engine.Fuzzing;
using Fuzz.Instrumentation;
using Fuzz.Targets.Mmu;
using Fuzz.Tests.Model;
using Mono.Cecil;
using Xunit;

namespace Fuzz.Tests.Instrumentation;

/// <summary>The build instruments the model: the Fuzz.Targets.dll these tests run carries probes, raw/ does not.</summary>
public class ModelCoverageTests
{
    private static readonly string Model = typeof(MmuRunner).Assembly.Location;

    [Fact]
    public void The_model_the_tests_load_is_instrumented_and_the_raw_copy_is_not()
    {
        var marker = typeof(MmuRunner).Assembly.GetCustomAttribute<InstrumentedAttribute>();
        Assert.NotNull(marker);
        Assert.True(marker.Probes > 300, $"{marker.Probes} probes");
        Assert.True(Instrumenter.IsInstrumented(Model));
        string raw = Path.Combine(AppContext.BaseDirectory, "raw", "Fuzz.Targets.dll");
        Assert.True(File.Exists(raw), raw);
        Assert.False(Instrumenter.IsInstrumented(raw));

        var probed = Probes.ProbedMethods(Model);
        Assert.Contains(probed, m => m.StartsWith("Fuzz.Targets.Mmu.Kvm/<", StringComparison.Ordinal) && m.EndsWith("::MoveNext", StringComparison.Ordinal));
        Assert.DoesNotContain(probed, m => m.StartsWith("Fuzz.Targets.Mmu.Checker", StringComparison.Ordinal));
        using var module = ModuleDefinition.ReadModule(Model);
        Assert.Contains(module.GetTypes(), t => t.FullName.StartsWith("Fuzz.Targets.Mmu.Checker", StringComparison.Ordinal));
        Assert.DoesNotContain(module.GetTypes(), t => t.Name is "PteListHarness" or "MmuRepro");
    }

    [Fact]
    public void Programs_leave_coverage_and_different_programs_leave_different_maps()
    {
        var a = File.ReadAllBytes(Path.Combine(Corpus.Dir, "stale-fault.bin"));
        var b = File.ReadAllBytes(Path.Combine(Corpus.Dir, "dirty-log.bin"));
        var context = TargetContext.Load(new Fuzz.Targets.TargetFactory());
        var target = context.Factory.Create(MmuTarget.Name, []);
        byte[] Run(byte[] input)
        {
            context.ResetPrev();
            target.Execute(target.Codec.Decode(input));
            var map = context.EdgeMap.ToArray();
            Array.Clear(context.EdgeMap);
            return map;
        }
        Run(a);
        Run(b);
        var first = Run(a);
        Assert.True(Probes.Cells(first).Count > 50, $"{Probes.Cells(first).Count} cells");
        Assert.Equal(first, Run(a));
        var other = Run(b);
        Assert.NotEqual(Probes.Cells(first), Probes.Cells(other));
    }

    /// <summary>Nothing carries over from one run to the next: the first run in a new context leaves the map every later run of the input leaves.</summary>
    [Fact]
    public void The_first_run_leaves_the_same_map_as_later_runs()
    {
        var input = File.ReadAllBytes(Path.Combine(Corpus.Dir, "stale-fault.bin"));
        var context = TargetContext.Load(new Fuzz.Targets.TargetFactory());
        var target = context.Factory.Create(MmuTarget.Name, []);
        Array.Clear(context.EdgeMap);
        var maps = new List<byte[]>();
        for (int i = 0; i < 3; i++)
        {
            context.ResetPrev();
            target.Execute(target.Codec.Decode(input));
            maps.Add(context.EdgeMap.ToArray());
            Array.Clear(context.EdgeMap);
        }
        Assert.Equal(maps[1], maps[0]);
        Assert.Equal(maps[1], maps[2]);
    }

    [Fact]
    public void Each_load_context_has_its_own_map()
    {
        var a = TargetContext.Load(new Fuzz.Targets.TargetFactory());
        var b = TargetContext.Load(new Fuzz.Targets.TargetFactory());
        var before = b.EdgeMap.ToArray();
        a.Factory.Create(MmuTarget.Name, []).Execute(MmuTarget.Codec.Decode(File.ReadAllBytes(Path.Combine(Corpus.Dir, "dirty-log.bin"))));
        Assert.Contains(a.EdgeMap, c => c != 0);
        Assert.Contains(a.EdgeLines, c => c != 0);
        Assert.Equal(before, b.EdgeMap);
        Assert.Throws<ArgumentException>(() => CoverageMap.Attach(new byte[100]));
    }
}
