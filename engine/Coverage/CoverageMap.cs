using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Fuzz.Coverage;

/// <summary>
/// The AFL-style edge map written by instrumented code: <c>map[id ^ prev]++; prev = id &gt;&gt; 1</c>.
/// The map is a plain static, so a probe costs a few instructions and no thread-local lookup. Each
/// fuzz loop runs its own copy of the instrumented assembly and of this one in its own load
/// context, and so has its own map. Where no map is attached, probes write to a scratch map nobody
/// reads, so a probe never tests for a map.
/// </summary>
public static class CoverageMap
{
    public const int Size = 65536;
    public const int LineBytes = 64;

    private static byte[]? s_attached;
    private static byte[] s_map = new byte[Size];
    private static byte[] s_lines = new byte[Size / LineBytes];
    private static int s_prev;

    /// <summary>
    /// Attaches a map of <see cref="Size"/> bytes for every thread of this load context; null detaches.
    /// <paramref name="lines"/> (one byte per 64-byte line of the map) is set for every line a probe
    /// touched, so a reader visits only those lines instead of the whole map.
    /// </summary>
    public static void Attach(byte[]? map, byte[]? lines = null)
    {
        if (map is not null && map.Length != Size)
            throw new ArgumentException($"a coverage map has {Size} bytes, not {map.Length}", nameof(map));
        if (lines is not null && lines.Length != Size / LineBytes)
            throw new ArgumentException($"a line map has {Size / LineBytes} bytes, not {lines.Length}", nameof(lines));
        s_lines = lines ?? new byte[Size / LineBytes];
        s_attached = map;
        s_map = map ?? new byte[Size];
        s_prev = 0;
    }

    public static byte[]? Current => s_attached;

    /// <summary>Forgets the previous location; call at the start of each execution.</summary>
    public static void ResetPrev() => s_prev = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(int id)
    {
        int i = (id ^ s_prev) & 0xFFFF;
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s_map), i)++;
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s_lines), i >> 6) = 1;
        s_prev = id >> 1;
    }
}
