namespace Fuzz.Engine.Scheduling;

/// <summary>
/// Picks the next actor where two or more can run. <paramref name="runnable"/> holds actor ids in
/// ascending order; <paramref name="current"/> is the index in it of the actor that ran last, or -1.
/// Every strategy's choices are recorded by the machine, so any run replays from its choice stream.
/// </summary>
public interface IScheduleStrategy
{
    int Choose(ReadOnlySpan<int> runnable, int current, long step);
}

/// <summary>The choice stream from the input: byte modulo the runnable count; when it runs out, the running actor keeps running.</summary>
public sealed class InputStrategy : IScheduleStrategy
{
    private readonly byte[] _choices;
    private int _pos;

    public InputStrategy(byte[] choices) => _choices = choices;

    public int Choose(ReadOnlySpan<int> runnable, int current, long step)
    {
        if (_pos < _choices.Length) return Mod(_choices[_pos++], runnable.Length);
        return current >= 0 ? current : 0;
    }

    /// <summary><paramref name="b"/> % <paramref name="n"/>; the usual counts (two to four actors) without a division.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private static int Mod(uint b, int n) => n switch
    {
        2 => (int)(b & 1),
        3 => (int)(b % 3),
        4 => (int)(b & 3),
        _ => (int)(b % (uint)n),
    };
}

/// <summary>SplitMix64: small, fast, and the same sequence on every platform.</summary>
public struct SplitMix64
{
    private ulong _state;
    public SplitMix64(ulong seed) => _state = seed;

    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    public int Below(int n) => (int)((Next() >> 33) % (ulong)n);
}

/// <summary>Uniformly random choice at every decision, from a seed.</summary>
public sealed class RandomStrategy : IScheduleStrategy
{
    private SplitMix64 _rng;
    public RandomStrategy(ulong seed) => _rng = new SplitMix64(seed);
    public int Choose(ReadOnlySpan<int> runnable, int current, long step) => _rng.Below(runnable.Length);
}

/// <summary>
/// PCT (Burckhardt et al., ASPLOS 2010): random distinct priorities per actor, the highest-priority
/// runnable actor runs, and at d-1 random change points the running actor drops below all others.
/// </summary>
public sealed class PctStrategy : IScheduleStrategy
{
    private readonly int[] _priority;
    private readonly long[] _changePoints;
    private int _nextChange;

    public PctStrategy(ulong seed, int depth, int actors, long expectedSteps)
    {
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
