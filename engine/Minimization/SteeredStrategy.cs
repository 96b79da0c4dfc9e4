using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Minimization;

/// <summary>
/// Replays a schedule with at most one edit and records every decision. The schedule is followed either by
/// index (a choice stream, exactly as <see cref="InputStrategy"/>) or by actor id (pick the same
/// actor as before when it is runnable), which survives removing or renumbering threads better.
/// Where it has nothing to follow it does what an exhausted stream does: the running actor keeps
/// running, or the lowest-numbered runnable one if it cannot.
/// </summary>
internal sealed class SteeredStrategy : IScheduleStrategy
{
    public const int KeepCurrent = -1;

    private readonly byte[] _choices;
    private readonly int[]? _actors;
    private readonly int _editAt;
    private readonly int _editPick;
    private readonly int _stopAt;
    private int _k;

    private SteeredStrategy(byte[] choices, int[]? actors, int editAt, int editPick, int stopAt)
    {
        _choices = choices;
        _actors = actors;
        _editAt = editAt;
        _editPick = editPick;
        _stopAt = stopAt;
    }

    /// <summary>Follows <paramref name="choices"/> by index; at decision <paramref name="editAt"/> picks <paramref name="editPick"/> instead; from <paramref name="stopAt"/> on, follows nothing.</summary>
    public static SteeredStrategy ByIndex(byte[] choices, int editAt = -1, int editPick = KeepCurrent, int stopAt = int.MaxValue) =>
        new(choices, null, editAt, editPick, stopAt);

    /// <summary>Picks actor <c>actors[k]</c> at decision k when it is runnable.</summary>
    public static SteeredStrategy ByActor(int[] actors, int editAt = -1, int editPick = KeepCurrent) =>
        new([], actors, editAt, editPick, int.MaxValue);

    public string Description =>
        $"steered[by:{(_actors is null ? "index" : "actor")}{(_editAt >= 0 ? $",edit:{_editAt}" : "")}{(_stopAt != int.MaxValue ? $",stop:{_stopAt}" : "")}]";

    /// <summary>Per decision: the index of the actor that ran last among the runnable ones, or -1.</summary>
    public List<int> Currents { get; } = [];

    /// <summary>Per decision: how many actors were runnable.</summary>
    public List<int> Counts { get; } = [];

    /// <summary>Per decision: the index picked (the choice-stream byte that replays it).</summary>
    public List<byte> Picks { get; } = [];

    /// <summary>Per decision: the actor id picked.</summary>
    public List<int> Picked { get; } = [];

    public int Choose(ReadOnlySpan<int> runnable, int current, long step)
    {
        int n = runnable.Length, fallback = current >= 0 ? current : 0, pick;
        if (_k == _editAt) pick = _editPick == KeepCurrent ? fallback : _editPick % n;
        else if (_k >= _stopAt) pick = fallback;
        else if (_actors is not null) pick = _k < _actors.Length ? IndexOf(runnable, _actors[_k], fallback) : fallback;
        else pick = _k < _choices.Length ? _choices[_k] % n : fallback;
        Currents.Add(current);
        Counts.Add(n);
        Picks.Add((byte)pick);
        Picked.Add(runnable[pick]);
        _k++;
        return pick;
    }

    private static int IndexOf(ReadOnlySpan<int> runnable, int actor, int fallback)
    {
        int i = runnable.IndexOf(actor);
        return i >= 0 ? i : fallback;
    }
}
