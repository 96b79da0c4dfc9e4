using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>A random schedule of a fresh seed per execution.</summary>
internal sealed class RandomSchedule : IScheduleSource
{
    public IScheduleStrategy? Next(ProgramInput program, ref SplitMix64 rng) => new RandomStrategy(rng.Next());
}
