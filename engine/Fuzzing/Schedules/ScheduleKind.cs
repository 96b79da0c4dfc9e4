namespace Fuzz.Engine.Fuzzing;

/// <summary>How a fuzz loop schedules each input.</summary>
public enum ScheduleKind
{
    /// <summary>The input's own choice stream (<see cref="Scheduling.InputStrategy"/>).</summary>
    Input,

    /// <summary>A seeded random schedule (<see cref="Scheduling.RandomStrategy"/>).</summary>
    Random,

    /// <summary>A seeded PCT schedule of depth 1-3 (<see cref="Scheduling.PctStrategy"/>).</summary>
    Pct,

    /// <summary>The input's choice stream, with a yield-sized share of random and PCT schedules (<see cref="PortfolioSchedule"/>).</summary>
    Portfolio,
}
