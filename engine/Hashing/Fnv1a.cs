using System.Runtime.CompilerServices;

namespace Fuzz.Engine.Hashing;

/// <summary>
/// 64-bit FNV-1a: the one hash behind the farm's short identities (crash signatures, probe ids, the
/// event hash, write-ahead-log checksums, feature digests). Stable across runs and platforms, which
/// string.GetHashCode is not.
/// </summary>
public static class Fnv1a
{
    public const ulong Offset = 0xcbf29ce484222325UL;
    public const ulong Prime = 0x100000001b3UL;

    /// <summary>One FNV-1a round over <paramref name="value"/> as a single unit (the event hash mixes whole words).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong hash, ulong value) => (hash ^ value) * Prime;

    public static ulong Hash(ReadOnlySpan<byte> data)
    {
        ulong h = Offset;
        foreach (byte b in data) h = (h ^ b) * Prime;
        return h;
    }

    public static ulong Hash(string text) => Hash(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>The bytes of <paramref name="values"/> in little-endian order, whatever the host's order.</summary>
    public static ulong Hash(ReadOnlySpan<uint> values)
    {
        ulong h = Offset;
        foreach (uint v in values)
            for (int b = 0; b < 32; b += 8) h = (h ^ ((v >> b) & 0xff)) * Prime;
        return h;
    }

    /// <summary>Folds the hash to 32 bits, for short names.</summary>
    public static uint Fold(ulong hash) => (uint)(hash ^ (hash >> 32));
}
