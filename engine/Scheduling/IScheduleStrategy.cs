namespace Fuzz.Engine.Scheduling;

/// <summary>
/// Picks the next actor where two or more can run. <paramref name="runnable"/> holds actor ids in
/// ascending order; <paramref name="current"/> is the index in it of the actor that ran last, or -1.
/// Every strategy's choices are recorded by the machine, so any run replays from its choice stream.
/// </summary>
/// <remarks>
/// A strategy sees one execution's decisions and nothing of the code under test. What spans
/// executions (which schedule comes next, as a bounded exhaustive search needs) belongs to whoever
/// hands the machine its strategy for each run.
/// </remarks>
public interface IScheduleStrategy
{
    int Choose(ReadOnlySpan<int> runnable, int current, long step);

    /// <summary>The strategy and its parameters, e.g. <c>random[seed:42]</c>.</summary>
    string Description { get; }
}
