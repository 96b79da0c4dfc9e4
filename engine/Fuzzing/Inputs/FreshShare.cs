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

    private DecayingYield _fresh, _mutant;

    public static FreshShare Start => new() { _fresh = DecayingYield.Start, _mutant = DecayingYield.Start };

    public readonly double Fresh
    {
        get
        {
            double f = _fresh.Rate, m = _mutant.Rate;
            return f + m <= 0 ? Min : Math.Clamp(f / (f + m), Min, Max);
        }
    }

    public void Record(bool fresh, bool yielded)
    {
        if (fresh) _fresh.Record(yielded);
        else _mutant.Record(yielded);
    }
}
