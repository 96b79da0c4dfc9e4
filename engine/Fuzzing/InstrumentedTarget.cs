using Fuzz.Engine.Feedback;
using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// A target in a load context of its own with its feedback attached: the edge map its probes write
/// and the semantic features its machine reports to. What a fuzz loop, a replayer and a merger run
/// inputs on; not thread-safe.
/// </summary>
public sealed class InstrumentedTarget
{
    private static readonly FeatureSet None = new();
    private readonly TargetContext _context;

    public InstrumentedTarget(ITargetFactory factory, string target, IReadOnlyCollection<string> bugs)
    {
        _context = TargetContext.Load(factory);
        Feedback = new Feedback.Feedback(_context.EdgeMap, _context.EdgeLines);
        Target = _context.Factory.Create(target, bugs);
        Target.Observer = Feedback.Semantic;
    }

    public Feedback.Feedback Feedback { get; }
    public IFuzzTarget Target { get; }

    /// <summary>Runs <paramref name="program"/> from a clean edge state (the probes' previous location reset).</summary>
    public ExecResult Execute(ProgramInput program, IScheduleStrategy? strategy = null)
    {
        _context.ResetPrev();
        return Target.ExecuteSafely(program, strategy);
    }

    /// <summary>Takes the last execution's counts out of the maps, which are then clean for the next.</summary>
    public void Read() => Feedback.Read(None);

    /// <summary>Every feature of the last execution, not only what is new anywhere.</summary>
    public uint[] Features()
    {
        Read();
        return Feedback.FeatureIds();
    }
}
