namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// How many executions go to fresh random programs rather than corpus mutations: each kind keeps a
/// decaying count of its executions and of those that added features, and fresh programs get a share
/// proportional to their yield, between <see cref="Min"/> and <see cref="Max"/>. While the corpus is
/// young, fresh programs find as much as a random-schedule baseline does; once mutation finds more,
/// it gets the executions.
/// </summary>
public struct FreshShare
{
    public const double Min = 1.0 / 64, Max = 7.0 / 8;
    private const double Decay = 1.0 - 1.0 / 1024;

    private double _freshRuns, _freshYields, _mutantRuns, _mutantYields;

    public static FreshShare Start => new() { _freshRuns = 1, _freshYields = 1, _mutantRuns = 1, _mutantYields = 1 };

    public readonly double Fresh
    {
        get
        {
            double f = _freshYields / _freshRuns, m = _mutantYields / _mutantRuns;
            return f + m <= 0 ? Min : Math.Clamp(f / (f + m), Min, Max);
        }
    }

    public void Record(bool fresh, bool yielded)
    {
        if (fresh)
        {
            _freshRuns = _freshRuns * Decay + 1;
            _freshYields = _freshYields * Decay + (yielded ? 1 : 0);
        }
        else
        {
            _mutantRuns = _mutantRuns * Decay + 1;
            _mutantYields = _mutantYields * Decay + (yielded ? 1 : 0);
        }
    }
}
