namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// Runs inputs one at a time on an instrumented target of its own and returns each verdict with
/// the complete feature set of that execution (not only what is new): what merging and the nightly
/// replay compare.
/// </summary>
public sealed class Replayer
{
    private readonly InstrumentedTarget _instrumented;

    public Replayer(ITargetFactory factory, string target, IReadOnlyCollection<string> bugs)
    {
        _instrumented = new InstrumentedTarget(factory, target, bugs);
        Run(Target.Codec.Encode(Input.ProgramGenerator.Random(Target.Vocabulary, 1, 4, 0)));
    }

    public IFuzzTarget Target => _instrumented.Target;

    public (ExecResult Result, uint[] Features) Run(byte[] data)
    {
        var r = _instrumented.Execute(Target.Codec.Decode(data));
        return (r, _instrumented.Features());
    }
}
