using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>Makes a fuzz loop's next input, drawing from the loop's random stream.</summary>
internal interface IInputSource
{
    ProgramInput Next(ref SplitMix64 rng);

    /// <summary>What the input <see cref="Next"/> gave last did: the features it added (0 for a crash).</summary>
    void Observed(int added) { }
}
