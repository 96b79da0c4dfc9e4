using System.Reflection;
using Fuzz.Instrumentation;
using Mono.Cecil;
using Mono.Cecil.Cil;
using Xunit;

namespace Fuzz.Tests.Instrumentation;

/// <summary>The instrumenter on a sample of the code shapes C# produces: same behaviour, usable coverage, well-formed IL.</summary>
public class InstrumentedSampleTests(SampleFixture sample) : IClassFixture<SampleFixture>
{
    private const string Samples = SampleFixture.SamplesType;

    private static readonly int[] Inputs =
        [.. Enumerable.Range(-40, 260), 1000, 2147, 2148, 4097, 1_000_003, int.MaxValue, int.MinValue, int.MinValue + 1];

    private static List<string> SampleMethods(IsolatedAssembly a) =>
        a.Assembly.GetType(Samples, throwOnError: true)!.GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.GetParameters() is [{ ParameterType: var p }] && p == typeof(int))
            .Select(m => m.Name).Order().ToList();

    [Fact]
    public void Instrumented_sample_returns_and_throws_exactly_like_the_original()
    {
        using var original = new IsolatedAssembly(sample.Original);
        using var instrumented = new IsolatedAssembly(sample.Instrumented);
        var names = SampleMethods(original);
        Assert.Equal(names, SampleMethods(instrumented));
        Assert.True(names.Count >= 12, string.Join(", ", names));
        var threw = new HashSet<string>();
        foreach (string name in names)
        {
            var before = original.Method(Samples, name);
            var after = instrumented.Method(Samples, name);
            foreach (int x in Inputs)
            {
                string expected = IsolatedAssembly.Outcome(before, x);
                Assert.Equal(expected, IsolatedAssembly.Outcome(after, x));
                string withMap = "";
                instrumented.Coverage(() => withMap = IsolatedAssembly.Outcome(after, x));
                Assert.Equal(expected, withMap);
                if (expected.StartsWith("threw", StringComparison.Ordinal)) threw.Add(expected[..expected.IndexOf(':')]);
            }
        }
        Assert.Contains("threw System.ArgumentException", threw);
        Assert.Contains("threw System.OverflowException", threw);
        Assert.Contains("threw System.Collections.Generic.KeyNotFoundException", threw);
    }

    [Fact]
    public void Symbols_survive_so_stack_traces_keep_their_source_lines()
    {
        static string Where(IsolatedAssembly a)
        {
            var e = Assert.Throws<TargetInvocationException>(() => a.Method(Samples, "ThrowsOut").Invoke(null, [8]));
            return e.InnerException!.StackTrace!.Split('\n')[0].Trim();
        }
        using var original = new IsolatedAssembly(sample.Original);
        using var instrumented = new IsolatedAssembly(sample.Instrumented);
        Assert.Matches(@"Samples\.cs:line \d+$", Where(original));
        Assert.Equal(Where(original), Where(instrumented));
    }

    [Fact]
    public void Every_method_body_including_compiler_generated_and_nested_types_gets_probes()
    {
        Assert.False(sample.Result.AlreadyInstrumented);
        using (var module = ModuleDefinition.ReadModule(sample.Original))
            Assert.Equal(Probes.Methods(module).Select(Probes.Name).Order(), Probes.ProbedMethods(sample.Instrumented).Order());
        Assert.True(sample.Result.Probes > sample.Result.Methods);
        var probed = Probes.ProbedMethods(sample.Instrumented);
        Assert.Equal(sample.Result.Methods, probed.Count);
        string[] expected =
        [
            "Samples/<Sequence>d__", "::MoveNext", // iterator
            "Samples/<AsyncCore>d__", "::MoveNext", // async state machine
            "Samples/<Half>d__", "::MoveNext",
            "Samples/<>c__DisplayClass", "::<Lambda>b__", // capturing lambda
            "Samples/<>c", "::<Lambda>b__", // static lambda
            "Samples/Outer/Inner", "::Walk", // nested types
            "Samples/Pair", "::CompareTo",
            "Samples", "::.cctor",
        ];
        for (int i = 0; i < expected.Length; i += 2)
            Assert.Contains(probed, m => m.Contains(expected[i]) && m.Contains(expected[i + 1]));
    }

    [Fact]
    public void Branches_switches_and_handlers_land_on_probes_and_prefixes_stay_with_their_instruction()
    {
        using var module = ModuleDefinition.ReadModule(sample.Instrumented);
        int prefixes = 0, probedPrefixes = 0, handlers = 0, filters = 0;
        foreach (var method in Probes.Methods(module))
        {
            var body = method.Body;
            Assert.True(Probes.StartsProbe(body.Instructions[0]), $"{Probes.Name(method)}: no probe at entry");
            foreach (var ins in body.Instructions)
            {
                switch (ins.Operand)
                {
                    case Instruction target:
                        Assert.True(Probes.StartsProbe(target), $"{Probes.Name(method)}: {ins} does not branch to a probe");
                        break;
                    case Instruction[] targets:
                        Assert.All(targets, t => Assert.True(Probes.StartsProbe(t), $"{Probes.Name(method)}: {ins} has a target without a probe"));
                        break;
                }
                if (ins.OpCode.FlowControl == FlowControl.Cond_Branch)
                    Assert.True(Probes.StartsProbe(ins.Next), $"{Probes.Name(method)}: no probe after {ins}");
                if (ins.OpCode.OpCodeType == OpCodeType.Prefix)
                {
                    prefixes++;
                    Assert.False(Probes.StartsProbe(ins.Next), $"{Probes.Name(method)}: probe after prefix {ins}");
                    if (Probes.IsHit(ins.Previous)) probedPrefixes++;
                }
            }
            foreach (var h in body.ExceptionHandlers)
            {
                handlers++;
                Assert.True(Probes.StartsProbe(h.HandlerStart), $"{Probes.Name(method)}: {h.HandlerType} handler starts without a probe");
                if (h.FilterStart is { } f)
                {
                    filters++;
                    Assert.True(Probes.StartsProbe(f), $"{Probes.Name(method)}: filter starts without a probe");
                }
            }
        }
        Assert.True(prefixes >= 2, "the sample should contain constrained. and volatile. prefixes");
        Assert.True(probedPrefixes >= 1, "the sample should contain a prefix that starts a basic block");
        Assert.True(handlers >= 4 && filters >= 2);
    }

    public static TheoryData<string, int, int> DifferentPaths => new()
    {
        { "Classify", -5, 4 },
        { "Switch", 0, 5 },
        { "Loops", 1, 20 },
        { "TryCatchFinally", 3, 4 },
        { "Filter", 4, 201 },
        { "ThrowsOut", 1, 3 },
        { "Iterator", -1, 6 },
        { "Lambda", 0, 9 },
        { "Async", 2, 11 },
        { "Constrained", -3, 3 },
        { "Volatile", 20, -20 },
        { "Nested", 8, 7 },
    };

    [Theory]
    [MemberData(nameof(DifferentPaths))]
    public void Different_paths_give_different_maps_and_the_same_input_the_same_map(string method, int a, int b)
    {
        var (first, second, other) = Maps(sample.Instrumented, method, a, b);
        Assert.NotEmpty(Probes.Cells(first));
        Assert.NotEmpty(Probes.Cells(other));
        Assert.Equal(first, second);
        Assert.NotEqual(Probes.Cells(first), Probes.Cells(other));
    }

    /// <summary>
    /// With --prune, the probes the control flow implies are gone, and paths are still told apart
    /// (Nested, straight-line code only, has no probes left at all).
    /// </summary>
    [Theory]
    [MemberData(nameof(DifferentPaths))]
    public void Pruned_probes_still_give_different_paths_different_maps(string method, int a, int b)
    {
        if (method == "Nested") return;
        var (first, second, other) = Maps(sample.Pruned, method, a, b);
        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    /// <summary>The maps of <paramref name="a"/>, of <paramref name="a"/> again and of <paramref name="b"/>, each call warmed up first.</summary>
    private static (byte[] First, byte[] Second, byte[] Other) Maps(string assembly, string method, int a, int b)
    {
        using var instrumented = new IsolatedAssembly(assembly);
        var m = instrumented.Method(Samples, method);
        IsolatedAssembly.Outcome(m, a);
        IsolatedAssembly.Outcome(m, b);
        return (instrumented.Coverage(() => IsolatedAssembly.Outcome(m, a)),
            instrumented.Coverage(() => IsolatedAssembly.Outcome(m, a)),
            instrumented.Coverage(() => IsolatedAssembly.Outcome(m, b)));
    }

    [Fact]
    public void Ids_are_stable_across_instrumentations_of_the_same_input()
    {
        Assert.Equal(File.ReadAllBytes(sample.Instrumented), File.ReadAllBytes(sample.Again));
        using var one = new IsolatedAssembly(sample.Instrumented);
        using var two = new IsolatedAssembly(sample.Again);
        foreach (string name in SampleMethods(one))
        {
            var m1 = one.Method(Samples, name);
            var m2 = two.Method(Samples, name);
            foreach (int x in new[] { -7, 0, 5, 12, 2148 })
            {
                IsolatedAssembly.Outcome(m1, x);
                IsolatedAssembly.Outcome(m2, x);
                Assert.Equal(
                    one.Coverage(() => IsolatedAssembly.Outcome(m1, x)),
                    two.Coverage(() => IsolatedAssembly.Outcome(m2, x)));
            }
        }
    }

    [Fact]
    public void Instrumenting_twice_changes_nothing_and_the_raw_copy_is_the_input()
    {
        Assert.False(Instrumenter.IsInstrumented(sample.Original));
        Assert.True(Instrumenter.IsInstrumented(sample.Instrumented));

        string dir = sample.Scratch("twice");
        string target = Path.Combine(dir, Path.GetFileName(sample.Original));
        File.Copy(sample.Original, target);
        File.Copy(Path.ChangeExtension(sample.Original, ".pdb"), Path.ChangeExtension(target, ".pdb"));
        string raw = Path.Combine(dir, "raw", Path.GetFileName(target));
        var options = new InstrumentOptions { RawCopyPath = raw };

        var first = Instrumenter.Instrument(target, null, options);
        Assert.False(first.AlreadyInstrumented);
        Assert.Equal(File.ReadAllBytes(sample.Original), File.ReadAllBytes(raw));
        Assert.Equal(File.ReadAllBytes(sample.Instrumented), File.ReadAllBytes(target));
        var rawTime = File.GetLastWriteTimeUtc(raw);

        var dll = File.ReadAllBytes(target);
        var pdb = File.ReadAllBytes(Path.ChangeExtension(target, ".pdb"));
        var second = Instrumenter.Instrument(target, null, options);
        Assert.True(second.AlreadyInstrumented);
        Assert.Contains("already instrumented", second.Summary);
        Assert.Equal(dll, File.ReadAllBytes(target));
        Assert.Equal(pdb, File.ReadAllBytes(Path.ChangeExtension(target, ".pdb")));
        Assert.Equal(rawTime, File.GetLastWriteTimeUtc(raw));
        string[] left = [.. Directory.EnumerateFileSystemEntries(dir).Select(p => Path.GetFileName(p)).Order(StringComparer.Ordinal)];
        Assert.Equal(["Fuzz.InstrumentationSample.dll", "Fuzz.InstrumentationSample.pdb", "raw"], left);
    }

    [Fact]
    public void Include_and_exclude_select_types_and_single_methods_with_their_generated_code()
    {
        string dir = sample.Scratch("filtered");
        string excluded = Path.Combine(dir, "excluded.dll");
        Instrumenter.Instrument(sample.Original, excluded, new InstrumentOptions
        {
            Exclude = [$"{Samples}::Sequence", $"{Samples}::Classify"],
        });
        var probed = Probes.ProbedMethods(excluded);
        Assert.DoesNotContain(probed, m => m.Contains("<Sequence>"));
        Assert.DoesNotContain($"{Samples}::Classify", probed);
        Assert.Contains($"{Samples}::Iterator", probed);
        Assert.Contains($"{Samples}::Switch", probed);
        Assert.Contains(probed, m => m.Contains("Outer/Inner"));

        string included = Path.Combine(dir, "included.dll");
        Instrumenter.Instrument(sample.Original, included, new InstrumentOptions { Include = [$"{Samples}::Lambda"] });
        var only = Probes.ProbedMethods(included);
        Assert.Equal(3, only.Count);
        Assert.All(only, m => Assert.Contains("Lambda", m));

        string none = Path.Combine(dir, "none.dll");
        var nothing = Instrumenter.Instrument(sample.Original, none, new InstrumentOptions { Exclude = ["Fuzz.InstrumentationSample"] });
        Assert.Equal(0, nothing.Probes);
        Assert.True(Instrumenter.IsInstrumented(none));
    }

    [Fact]
    public void The_coverage_runtime_is_never_instrumented()
    {
        string copy = Path.Combine(sample.Scratch("runtime"), "Fuzz.Coverage.dll");
        File.Copy(typeof(Fuzz.Coverage.CoverageMap).Assembly.Location, copy);
        var e = Assert.Throws<InstrumentationException>(() => Instrumenter.Instrument(copy, null, new InstrumentOptions()));
        Assert.Contains("coverage runtime", e.Message);
        Assert.False(Instrumenter.IsInstrumented(copy));
    }
}
