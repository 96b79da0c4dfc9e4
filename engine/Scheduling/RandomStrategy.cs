namespace Fuzz.Engine.Scheduling;

/// <summary>Uniformly random choice at every decision, from a seed.</summary>
public sealed class RandomStrategy : IScheduleStrategy
{
    private readonly ulong _seed;
    private SplitMix64 _rng;

    public RandomStrategy(ulong seed)
    {
        _seed = seed;
        _rng = new SplitMix64(seed);
    }

    public string Description => $"random[seed:{_seed}]";

    public int Choose(ReadOnlySpan<int> runnable, int current, long step) => _rng.Below(runnable.Length);
}
