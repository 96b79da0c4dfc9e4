using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// Gives a fuzz loop the strategy for each execution (null = the program's own choice stream),
/// drawing from the loop's random stream. One per loop, asked once per execution, so a source may
/// carry state from one execution to the next.
/// </summary>
internal interface IScheduleSource
{
    IScheduleStrategy? Next(ProgramInput program, ref SplitMix64 rng);

    /// <summary>The features the execution <see cref="Next"/> scheduled added.</summary>
    void Observed(int added) { }
}
