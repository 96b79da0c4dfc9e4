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

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Hit(byte[] map, uint family, uint a, uint b, uint c)
    {
        uint h = family * 0x9E3779B1u;
        h = (h ^ a) * 0x85EBCA77u;
        h = (h ^ b) * 0xC2B2AE3Du;
        h = (h ^ c) * 0x27D4EB2Fu;
        h ^= h >> 15;
        int i = (int)(h & (MapSize - 1));
        ref byte cell = ref map[i];
        if (cell != 255) cell++;
        map[MapSize + (i >> 6)] = 1;
    }
}
