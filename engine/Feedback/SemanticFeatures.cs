using System.Runtime.CompilerServices;

namespace Fuzz.Engine.Feedback;

/// <summary>
/// Features the model reports about what the schedule did, beside IL edges: which roles' accesses
/// interleaved on the same word, context switches between roles, lock hand-offs and protocol
/// states (model events), and the shape of the schedule. Each is a hashed counter in a small map,
/// bucketed like edge counts.
/// </summary>
public static class SemanticFeatures
{
    public const int MapBits = 14;
    public const int MapSize = 1 << MapBits;

    /// <summary>The map is followed by one mark per 64-byte line, set when a cell in the line is hit.</summary>
    public const int BufferSize = MapSize + MapSize / 64;

    public const uint Interleaving = 1, Switch = 2, Event = 3, Shape = 4;

    /// <summary>
    /// Counts the feature (family, a, b, c) in its cell. The four values are packed into one word and
    /// mixed by two multiplications (the cell is the top bits of the product), half the work of
    /// hashing them one by one, for the hundreds of hits of one execution.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(byte[] map, uint family, uint a, uint b, uint c)
    {
        ulong key = family ^ ((ulong)a << 4) ^ ((ulong)b << 24) ^ ((ulong)c << 44);
        key *= 0x9E3779B97F4A7C15UL;
        key = (key ^ (key >> 29)) * 0xBF58476D1CE4E5B9UL;
        int i = (int)(key >> (64 - MapBits));
        ref byte cell = ref map[i];
        if (cell != 255) cell++;
        map[MapSize + (i >> 6)] = 1;
    }
}
