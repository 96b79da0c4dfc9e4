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
    private const double Decay = 1.0 - 1.0 / 1024;

    private double _inputRuns, _inputYields, _randomRuns, _randomYields, _pctRuns, _pctYields;

    public static ScheduleShare Start => new()
    {
        _inputRuns = 1, _inputYields = 1, _randomRuns = 1, _randomYields = 1, _pctRuns = 1, _pctYields = 1,
    };

    public readonly double RandomShare => Share(_randomYields / _randomRuns);
    public readonly double PctShare => Share(_pctYields / _pctRuns);

    private readonly double Share(double other)
    {
        double own = _inputYields / _inputRuns;
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
        double y = yielded ? 1 : 0;
        switch (arm)
        {
            case Random: _randomRuns = _randomRuns * Decay + 1; _randomYields = _randomYields * Decay + y; break;
            case Pct: _pctRuns = _pctRuns * Decay + 1; _pctYields = _pctYields * Decay + y; break;
            default: _inputRuns = _inputRuns * Decay + 1; _inputYields = _inputYields * Decay + y; break;
        }
    }
}
