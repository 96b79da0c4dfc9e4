using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fuzz.Coverage;

/// <summary>
/// The AFL-style edge map written by instrumented code: <c>map[id ^ prev]++; prev = id &gt;&gt; 1</c>.
/// Each fuzz loop thread attaches its own map; threads without one pay a thread-static read per probe.
/// </summary>
public static class CoverageMap
{
    public const int Size = 65536;

    private sealed class State(byte[] map)
    {
        public readonly byte[] Map = map;
        public int Prev;
    }

    // One thread-static read per probe: the map and the previous location live in one object.
    [ThreadStatic] private static State? t_state;

    /// <summary>Attaches a map of <see cref="Size"/> bytes to the calling thread; null detaches.</summary>
    public static void Attach(byte[]? map)
    {
        if (map is not null && map.Length != Size)
            throw new ArgumentException($"a coverage map has {Size} bytes, not {map.Length}", nameof(map));
        t_state = map is null ? null : new State(map);
    }

    public static byte[]? Current => t_state?.Map;

    /// <summary>Forgets the previous location; call at the start of each execution.</summary>
    public static void ResetPrev()
    {
        if (t_state is { } s) s.Prev = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(int id)
    {
        var s = t_state;
        if (s is null) return;
        int i = (id ^ s.Prev) & 0xFFFF;
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s.Map), i)++;
        s.Prev = id >> 1;
    }
}
