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

    /// <summary>One mark per 64-byte line of the map.</summary>
    public const int Lines = Size / LineBytes;

    // The previous location lives in the line buffer, after the marks, in a cache line of its own:
    // as a static it could share a line with another load context's, and two loops on two cores
    // would then take turns owning that line at every probe.
    private const int PrevOffset = Lines + 64;

    /// <summary>Length of the line buffer: the marks, then room for the previous location.</summary>
    public const int LineBufferSize = Lines + 128;

    private static byte[]? s_attached;
    private static byte[] s_map = new byte[Size];
    private static byte[] s_lines = new byte[LineBufferSize];

    /// <summary>
    /// Attaches a map of <see cref="Size"/> bytes for every thread of this load context; null detaches.
    /// <paramref name="lines"/> (<see cref="LineBufferSize"/> bytes; its first <see cref="Lines"/> are
    /// one byte per 64-byte line of the map) is set for every line a probe touched, so a reader visits
    /// only those lines instead of the whole map.
    /// </summary>
    public static void Attach(byte[]? map, byte[]? lines = null)
    {
        if (map is not null && map.Length != Size)
            throw new ArgumentException($"a coverage map has {Size} bytes, not {map.Length}", nameof(map));
        if (lines is not null && lines.Length != LineBufferSize)
            throw new ArgumentException($"a line buffer has {LineBufferSize} bytes, not {lines.Length}", nameof(lines));
        s_lines = lines ?? new byte[LineBufferSize];
        s_attached = map;
        s_map = map ?? new byte[Size];
    }

    public static byte[]? Current => s_attached;

    /// <summary>Forgets the previous location; call at the start of each execution.</summary>
    public static void ResetPrev() => Prev(s_lines) = 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ref int Prev(byte[] lines) =>
        ref Unsafe.As<byte, int>(ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(lines), PrevOffset));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(int id)
    {
        var lines = s_lines;
        ref int prev = ref Prev(lines);
        int i = (id ^ prev) & 0xFFFF;
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(s_map), i)++;
        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(lines), i >> 6) = 1;
        prev = id >> 1;
    }
}
