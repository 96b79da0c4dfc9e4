namespace Fuzz.Engine.Scheduling;

/// <summary>
/// PCT (Burckhardt et al., ASPLOS 2010): random distinct priorities per actor, the highest-priority
/// runnable actor runs, and at d-1 random change points the running actor drops below all others.
/// </summary>
public sealed class PctStrategy : IScheduleStrategy
{
    private readonly ulong _seed;
    private readonly int[] _priority;
    private readonly long[] _changePoints;
    private int _nextChange;

    public PctStrategy(ulong seed, int depth, int actors, long expectedSteps)
    {
        _seed = seed;
        var rng = new SplitMix64(seed);
        depth = Math.Max(1, depth);
        _priority = new int[actors];
        for (int i = 0; i < actors; i++) _priority[i] = depth + i;
        for (int i = actors - 1; i > 0; i--)
        {
            int j = rng.Below(i + 1);
            (_priority[i], _priority[j]) = (_priority[j], _priority[i]);
        }
        _changePoints = new long[depth - 1];
        for (int i = 0; i < _changePoints.Length; i++) _changePoints[i] = 1 + (long)(rng.Next() % (ulong)Math.Max(1, expectedSteps));
        Array.Sort(_changePoints);
    }

    public string Description => $"pct[seed:{_seed},depth:{_changePoints.Length + 1}]";

    public int Choose(ReadOnlySpan<int> runnable, int current, long step)
    {
        while (_nextChange < _changePoints.Length && step >= _changePoints[_nextChange])
        {
            if (current >= 0) _priority[runnable[current]] = _changePoints.Length - _nextChange;
            _nextChange++;
        }
        int best = 0;
        for (int i = 1; i < runnable.Length; i++)
            if (_priority[runnable[i]] > _priority[runnable[best]]) best = i;
        return best;
    }
}
