using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>Every program runs on its own choice stream.</summary>
internal sealed class InputSchedule : IScheduleSource
{
    public IScheduleStrategy? Next(ProgramInput program, ref SplitMix64 rng) => null;
}
