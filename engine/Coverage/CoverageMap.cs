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

    [ThreadStatic] private static byte[]? t_map;
    [ThreadStatic] private static int t_prev;

    /// <summary>Attaches a map of <see cref="Size"/> bytes to the calling thread; null detaches.</summary>
    public static void Attach(byte[]? map)
    {
        if (map is not null && map.Length != Size)
            throw new ArgumentException($"a coverage map has {Size} bytes, not {map.Length}", nameof(map));
        t_map = map;
        t_prev = 0;
    }

    public static byte[]? Current => t_map;

    /// <summary>Forgets the previous location; call at the start of each execution.</summary>
    public static void ResetPrev() => t_prev = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(int id)
    {
        var m = t_map;
        if (m is null) return;
        int i = (id ^ t_prev) & 0xFFFF;
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(m), i)++;
        t_prev = id >> 1;
    }
}
