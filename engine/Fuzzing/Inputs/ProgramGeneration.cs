using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>Fresh random programs of <see cref="FuzzOptions.GeneratedOps"/> operations, no corpus.</summary>
internal sealed class ProgramGeneration(Vocabulary vocab, int ops) : IInputSource
{
    public ProgramInput Next(ref SplitMix64 rng) => ProgramGenerator.Random(vocab, rng.Next(), ops, 0);
}
