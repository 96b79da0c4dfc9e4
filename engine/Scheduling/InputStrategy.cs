using System.Runtime.CompilerServices;

namespace Fuzz.Engine.Scheduling;

/// <summary>The choice stream from the input: byte modulo the runnable count; when it runs out, the running actor keeps running.</summary>
public sealed class InputStrategy : IScheduleStrategy
{
    private readonly byte[] _choices;
    private int _pos;

    public InputStrategy(byte[] choices) => _choices = choices;

    public string Description => $"input[choices:{_choices.Length}]";

    public int Choose(ReadOnlySpan<int> runnable, int current, long step)
    {
        if (_pos < _choices.Length) return Mod(_choices[_pos++], runnable.Length);
        return current >= 0 ? current : 0;
    }

    /// <summary><paramref name="b"/> % <paramref name="n"/>; the usual counts (two to four actors) without a division.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Mod(uint b, int n) => n switch
    {
        2 => (int)(b & 1),
        3 => (int)(b % 3),
        4 => (int)(b & 3),
        _ => (int)(b % (uint)n),
    };
}
