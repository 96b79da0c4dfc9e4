using Fuzz.Cli.Commands;
using Mono.Cecil;
using Mono.Cecil.Cil;
using Xunit;

namespace Fuzz.Tests.Instrumentation;

/// <summary>`fuzz instrument`: a summary line and exit 0, or one clear line and exit 1, never a stack trace.</summary>
public class InstrumentCommandTests(SampleFixture sample) : IClassFixture<SampleFixture>
{
    private static (int Code, string Out, string Err) Instrument(string path, string? output = null, string[]? exclude = null)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = InstrumentCommand.Run(path, output, [], exclude ?? [], o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Fact]
    public void Garbage_missing_and_native_files_exit_1_with_a_message()
    {
        string dir = sample.Scratch("garbage");
        string garbage = Path.Combine(dir, "garbage.dll");
        var bytes = new byte[4096];
        new Random(5).NextBytes(bytes);
        bytes[0] = (byte)'M';
        bytes[1] = (byte)'Z';
        File.WriteAllBytes(garbage, bytes);
        string empty = Path.Combine(dir, "empty.dll");
        File.WriteAllBytes(empty, []);
        foreach (string path in new[] { garbage, empty, "/bin/sh", Path.Combine(dir, "missing.dll"), dir })
        {
            var r = Instrument(path);
            Assert.True(r.Code == 1, $"{path}: exit {r.Code}: {r.Err}");
            Assert.StartsWith("fuzz instrument: ", r.Err);
            Assert.Single(r.Err.Trim().Split('\n'));
            Assert.DoesNotContain(" at ", r.Err);
        }
        Assert.Contains("not a .NET assembly", Instrument(garbage).Err);
        Assert.Contains("no such file", Instrument(Path.Combine(dir, "missing.dll")).Err);
        Assert.Equal(bytes, File.ReadAllBytes(garbage));
    }

    [Fact]
    public void Instruments_once_then_reports_already_instrumented()
    {
        string output = Path.Combine(sample.Scratch("cli"), "out.dll");
        var first = Instrument(sample.Original, output, [$"{SampleFixture.SamplesType}::Classify"]);
        Assert.Equal(0, first.Code);
        Assert.Matches(@"instrumented \d+ methods, \d+ probes", first.Out);
        var again = Instrument(output);
        Assert.Equal(0, again.Code);
        Assert.Contains("already instrumented", again.Out);
    }
}

public class PruneTests(SampleFixture sample) : IClassFixture<SampleFixture>
{
    /// <summary>--prune leaves out straight-line methods only; everything with a branch keeps its probes.</summary>
    [Fact]
    public void Prune_skips_straight_line_methods_and_keeps_branching_ones()
    {
        string pruned = Path.Combine(sample.Scratch("prune"), "pruned.dll");
        var o = new StringWriter();
        Assert.Equal(0, InstrumentCommand.Run(sample.Original, pruned, [], [], o, new StringWriter(), prune: true));
        var withPrune = Probes.ProbedMethods(pruned);
        var without = Probes.ProbedMethods(sample.Instrumented);
        Assert.Contains("Fuzz.InstrumentationSample.Samples::Classify", withPrune);
        Assert.Contains("Fuzz.InstrumentationSample.Samples::Volatile", withPrune);
        Assert.Contains("Fuzz.InstrumentationSample.Samples::Nested", without);
        Assert.DoesNotContain("Fuzz.InstrumentationSample.Samples::Nested", withPrune);
        Assert.True(withPrune.Count < without.Count);
        Assert.Empty(withPrune.Except(without));
    }

    /// <summary>
    /// --prune leaves out the points only a state machine's dispatch on its state leads to, and moves
    /// the entry probe from the dispatch every resumption runs to where the first call lands (the
    /// body's start); every other branch target keeps its probe, and it behaves as before.
    /// </summary>
    [Fact]
    public void Prune_skips_state_dispatch_targets_of_iterators_and_async_methods()
    {
        string pruned = Path.Combine(sample.Scratch("prune-dispatch"), "pruned.dll");
        Assert.Equal(0, InstrumentCommand.Run(sample.Original, pruned, [], [], new StringWriter(), new StringWriter(), prune: true));
        using (var module = ModuleDefinition.ReadModule(pruned))
        {
            var machines = Probes.Methods(module)
                .Where(m => m.Name == "MoveNext" && m.DeclaringType.Fields.Any(f => f.Name == "<>1__state")).ToList();
            Assert.Contains(machines, m => m.DeclaringType.Name.StartsWith("<Sequence>", StringComparison.Ordinal));
            Assert.Contains(machines, m => m.DeclaringType.Name.StartsWith("<AsyncCore>", StringComparison.Ordinal));
            foreach (var m in machines)
            {
                var body = m.Body;
                Assert.False(Probes.StartsProbe(body.Instructions[0]), $"{Probes.Name(m)}: a probe on the dispatch");
                var dispatch = body.Instructions.First(i => i.OpCode.Code is Code.Switch or Code.Brfalse or Code.Brfalse_S);
                var resumes = dispatch.Operand as Instruction[] ?? [(Instruction)dispatch.Operand];
                Assert.Contains(resumes, t => !Probes.StartsProbe(t));
                bool iterator = m.DeclaringType.Name.StartsWith("<Sequence>", StringComparison.Ordinal);
                // State 0 (an iterator's first call) takes the dispatch's first target; -1 (an async
                // method's first call) falls through it.
                var start = iterator ? resumes[0] : dispatch.Next;
                while (start.OpCode.Code is Code.Br or Code.Br_S && !Probes.StartsProbe(start)) start = (Instruction)start.Operand;
                Assert.True(Probes.StartsProbe(start), $"{Probes.Name(m)}: no probe where the body starts ({start})");
                if (iterator)
                {
                    Assert.All(resumes.Skip(1), t => Assert.False(Probes.StartsProbe(t), $"{Probes.Name(m)}: probe at resume point {t}"));
                    Assert.True(body.Instructions.Count(Probes.IsHit) >= 4, "the iterator's own branches keep their probes");
                }
            }
        }
        using var original = new IsolatedAssembly(sample.Original);
        using var instrumented = new IsolatedAssembly(pruned);
        foreach (string name in new[] { "Iterator", "Async" })
            foreach (int x in new[] { -9, -1, 0, 1, 2, 5, 6, 7, 11, 13, 100 })
            {
                string expected = IsolatedAssembly.Outcome(original.Method(SampleFixture.SamplesType, name), x);
                string withMap = "";
                var map = instrumented.Coverage(() => withMap = IsolatedAssembly.Outcome(instrumented.Method(SampleFixture.SamplesType, name), x));
                Assert.Equal(expected, withMap);
                Assert.NotEmpty(Probes.Cells(map));
            }
    }
}
