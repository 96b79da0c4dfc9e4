namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// A decaying count of one kind of execution and of those that added features: what
/// <see cref="FreshShare"/> and <see cref="ScheduleShare"/> size their shares by.
/// </summary>
public struct DecayingYield
{
    private const double Decay = 1.0 - 1.0 / 1024;

    private double _runs, _yields;

    /// <summary>One execution that yielded, so that a kind starts even with the others.</summary>
    public static DecayingYield Start => new() { _runs = 1, _yields = 1 };

    public readonly double Rate => _yields / _runs;

    public void Record(bool yielded)
    {
        _runs = _runs * Decay + 1;
        _yields = _yields * Decay + (yielded ? 1 : 0);
    }
}
