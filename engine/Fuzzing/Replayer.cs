using Fuzz.Engine.Feedback;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// Runs inputs one at a time on an instrumented target of its own and returns each verdict with
/// the complete feature set of that execution (not only what is new): what merging and the nightly
/// replay compare.
/// </summary>
public sealed class Replayer
{
    private readonly TargetContext _context;
    private readonly Feedback.Feedback _feedback;
    private readonly FeatureSet _none = new();

    public Replayer(ITargetFactory factory, string target, IReadOnlyCollection<string> bugs)
    {
        _context = TargetContext.Load(factory);
        _feedback = new Feedback.Feedback(_context.EdgeMap, _context.EdgeLines);
        Target = _context.Factory.Create(target, bugs);
        Target.Observer = _feedback.Semantic;
        Run(Target.Codec.Encode(Input.ProgramGenerator.Random(Target.Vocabulary, 1, 4, 0)));
    }

    public IFuzzTarget Target { get; }

    public (ExecResult Result, uint[] Features) Run(byte[] data)
    {
        _context.ResetPrev();
        var r = Target.ExecuteSafely(Target.Codec.Decode(data));
        _feedback.Read(_none);
        return (r, _feedback.FeatureIds());
    }
}
