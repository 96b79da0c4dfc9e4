using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// The coverage strategy's schedules: mostly the program's own choice stream (which the mutator
/// evolves), and for a share of the executions (<see cref="ScheduleShare"/>) a random or a PCT
/// schedule over the same program. What such a schedule finds is kept with the schedule it ran, so
/// it replays exactly and mutates on from there: a corpus program always has its baselines'
/// schedules tried on it too.
/// </summary>
internal sealed class PortfolioSchedule : IScheduleSource
{
    private readonly RandomSchedule _random = new();
    private readonly PctSchedule _pct = new();
    private ScheduleShare _share = ScheduleShare.Start;
    private int _last;

    public IScheduleStrategy? Next(ProgramInput program, ref SplitMix64 rng)
    {
        _last = _share.Pick((rng.Next() >> 11) * (1.0 / (1UL << 53)));
        return _last switch
        {
            ScheduleShare.Random => _random.Next(program, ref rng),
            ScheduleShare.Pct => _pct.Next(program, ref rng),
            _ => null,
        };
    }

    public void Observed(int added) => _share.Record(_last, added > 0);
}
