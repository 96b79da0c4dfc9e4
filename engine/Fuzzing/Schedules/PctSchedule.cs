using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>A PCT schedule per execution: a fresh seed, depth 1-3, change points within the first 150 steps.</summary>
internal sealed class PctSchedule : IScheduleSource
{
    private const int MaxDepth = 3;
    private const long ExpectedSteps = 150;

    public IScheduleStrategy? Next(ProgramInput program, ref SplitMix64 rng)
    {
        ulong seed = rng.Next();
        return new PctStrategy(seed, 1 + rng.Below(MaxDepth), program.Threads, ExpectedSteps);
    }
}
