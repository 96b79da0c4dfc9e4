using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// A fuzz target: a vocabulary of operations on a fresh model per execution. One instance per fuzz
/// loop; instances are not thread-safe.
/// </summary>
public interface IFuzzTarget
{
    string Name { get; }
    Vocabulary Vocabulary { get; }
    ProgramCodec Codec { get; }

    /// <summary>Told what each <see cref="Execute"/> does, e.g. the semantic features (null = nobody).</summary>
    IExecutionObserver? Observer { get; set; }

    /// <summary>Runs <paramref name="program"/> on a fresh model; <paramref name="strategy"/> null = the program's own choice stream.</summary>
    ExecResult Execute(ProgramInput program, IScheduleStrategy? strategy = null);

    /// <summary>Replays with tracing on and returns the program, its timeline and the verdict as text.</summary>
    string Explain(ProgramInput program);

    /// <summary>The configuration, the bug variants switched on and the program, before it runs.</summary>
    string Header(ProgramInput program);

    /// <summary>
    /// Runs with the program's own choice stream, traced if <paramref name="trace"/>, and returns the
    /// result with its account: the timeline (when traced), what the schedule did, the verdict.
    /// </summary>
    (ExecResult Result, string Outcome) Repro(ProgramInput program, bool trace);
}

/// <summary>Describes its targets and creates them by name with a set of seeded bug variants switched on.</summary>
public interface ITargetFactory
{
    /// <summary>The target a command runs when none is named.</summary>
    string DefaultTarget { get; }

    IReadOnlyList<TargetDescription> Targets { get; }

    IFuzzTarget Create(string target, IReadOnlyCollection<string> bugs);

    TargetDescription? Describe(string target) => Targets.FirstOrDefault(t => t.Name == target);
}

public static class FuzzTargetExtensions
{
    public const int ModelExceptionId = 0;
    public const string ModelExceptionName = "Model exception";

    /// <summary>
    /// Runs like <see cref="IFuzzTarget.Execute"/>, but an exception escaping the model (a defect in
    /// the model itself, not an invariant it checks) comes back as a violation of its own kind, so a
    /// fuzz loop keeps the input and keeps going.
    /// </summary>
    public static ExecResult ExecuteSafely(this IFuzzTarget target, ProgramInput program, IScheduleStrategy? strategy = null)
    {
        try
        {
            return target.Execute(program, strategy);
        }
        catch (Exception e) when (e is not (OutOfMemoryException or InvalidProgramException or InvariantViolation))
        {
            var frame = new System.Diagnostics.StackTrace(e, false).GetFrames().FirstOrDefault(f => f.GetMethod()?.DeclaringType is not null);
            var method = frame?.GetMethod();
            string site = method is null ? e.GetType().Name : $"{method.DeclaringType!.Name}.{method.Name}";
            var v = new InvariantViolation(ModelExceptionId, ModelExceptionName, $"{e.GetType().FullName}: {e.Message}", e.ToString()) { Site = site };
            return new ExecResult(v, 0, [], 0, 0);
        }
    }
}
