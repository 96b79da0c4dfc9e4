namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// How many executions of corpus programs get a random or a PCT schedule rather than their own
/// choice stream: each arm keeps a decaying count of its executions and of those that added
/// features; random and PCT each get half their yield's proportion against the choice stream's,
/// between <see cref="Min"/> and <see cref="Max"/>.
/// </summary>
public struct ScheduleShare
{
    public const double Min = 1.0 / 32, Max = 1.0 / 3;
    public const int Input = 0, Random = 1, Pct = 2;

    private DecayingYield _input, _random, _pct;

    public static ScheduleShare Start => new() { _input = DecayingYield.Start, _random = DecayingYield.Start, _pct = DecayingYield.Start };

    public readonly double RandomShare => Share(_random.Rate);
    public readonly double PctShare => Share(_pct.Rate);

    private readonly double Share(double other)
    {
        double own = _input.Rate;
        return own + other <= 0 ? Min : Math.Clamp(other / (own + other) / 2, Min, Max);
    }

    /// <summary>The arm for a uniform draw in [0, 1).</summary>
    public readonly int Pick(double u)
    {
        double r = RandomShare;
        return u < r ? Random : u < r + PctShare ? Pct : Input;
    }

    public void Record(int arm, bool yielded)
    {
        switch (arm)
        {
            case Random: _random.Record(yielded); break;
            case Pct: _pct.Record(yielded); break;
            default: _input.Record(yielded); break;
        }
    }
}
