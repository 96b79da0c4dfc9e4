using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Fuzzing;

public class ModelExceptionTests
{
    /// <summary>A target whose model code throws: the exception becomes a violation naming where it was thrown.</summary>
    private sealed class Throwing : IFuzzTarget
    {
        public string Name => "throwing";
        public Vocabulary Vocabulary => MmuTarget.Vocabulary;
        public ProgramCodec Codec => MmuTarget.Codec;
        public IExecutionObserver? Observer { get; set; }
        public ExecResult Execute(ProgramInput program, IScheduleStrategy? strategy = null) =>
            program.Ops.Length > 1 ? throw new IndexOutOfRangeException("slot 9") : new ExecResult(null, 1, [], 0, 0);
        public string Explain(ProgramInput program) => "";
        public string Header(ProgramInput program) => "";
        public (ExecResult Result, string Outcome) Repro(ProgramInput program, bool trace) => (Execute(program), "");
    }

    [Fact]
    public void An_exception_from_the_model_is_a_crash_not_a_dead_loop()
    {
        var t = new Throwing();
        Assert.Null(t.ExecuteSafely(MmuTarget.Codec.Decode([1, 0, 1, 0, 0, 0, 0, 0])).Violation);
        var r = t.ExecuteSafely(MmuTarget.Codec.Decode([1, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        Assert.NotNull(r.Violation);
        Assert.Equal(FuzzTargetExtensions.ModelExceptionId, r.Violation!.Id);
        Assert.Contains("IndexOutOfRangeException: slot 9", r.Violation.Detail);
        Assert.Equal("Throwing.Execute", r.Violation.Site);
    }
}
