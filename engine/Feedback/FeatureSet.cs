using System.Numerics;

namespace Fuzz.Engine.Feedback;

/// <summary>
/// The global feature set shared by every fuzz loop, AFL's "virgin map" turned around: one byte per
/// map cell (the 64 KiB IL edge map, then the semantic map), one bit per hit-count bucket seen.
/// A feature id is cell * 8 + bucket. Reads are lock-free; adds take a lock, so "new" is decided once.
/// </summary>
public sealed class FeatureSet
{
    public const int EdgeMapSize = 1 << 16;
    public const int Cells = EdgeMapSize + SemanticFeatures.MapSize;
    public const int Words = Cells / 8;
    public const uint SemanticBase = EdgeMapSize << 3;

    private readonly ulong[] _seen = new ulong[Words];
    private readonly Lock _lock = new();
    private int _features, _edges, _semantic;

    public int Features => Volatile.Read(ref _features);

    /// <summary>Distinct IL edges (map cells) seen with any hit count.</summary>
    public int Edges => Volatile.Read(ref _edges);

    /// <summary>Features from the semantic map (interleavings, switches, events, shapes).</summary>
    public int Semantic => Volatile.Read(ref _semantic);

    /// <summary>The seen map as vectors of four words, for a lock-free scan (a racy read only delays "new" to the next look).</summary>
    public ReadOnlySpan<System.Runtime.Intrinsics.Vector256<ulong>> Vectors =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<ulong, System.Runtime.Intrinsics.Vector256<ulong>>(_seen.AsSpan());

    /// <summary>
    /// Adds classified words; returns how many features were not there before, and appends their ids
    /// to <paramref name="fresh"/> when given.
    /// </summary>
    public int Add(ReadOnlySpan<int> words, ReadOnlySpan<ulong> bits, List<uint>? fresh = null)
    {
        int added = 0;
        lock (_lock)
        {
            for (int i = 0; i < words.Length; i++)
            {
                int w = words[i];
                ulong old = _seen[w], gained = bits[i] & ~old;
                if (gained == 0) continue;
                Volatile.Write(ref _seen[w], old | gained);
                int n = BitOperations.PopCount(gained);
                added += n;
                if (fresh is not null)
                    for (ulong v = gained; v != 0; v &= v - 1) fresh.Add((uint)(w * 64 + BitOperations.TrailingZeroCount(v)));
                if (w < EdgeMapSize / 8)
                {
                    for (int b = 0; b < 8; b++)
                        if (((old >> (b * 8)) & 0xff) == 0 && ((gained >> (b * 8)) & 0xff) != 0) _edges++;
                }
                else _semantic += n;
            }
            _features += added;
        }
        return added;
    }

    /// <summary>Adds features by id (ids out of range are ignored); returns how many were new.</summary>
    public int Add(ReadOnlySpan<uint> features, List<uint>? fresh = null)
    {
        var words = new int[features.Length];
        var bits = new ulong[features.Length];
        int n = 0;
        foreach (uint f in features)
        {
            if (f >= (uint)Words * 64) continue;
            words[n] = (int)(f >> 6);
            bits[n++] = 1UL << (int)(f & 63);
        }
        return Add(words.AsSpan(0, n), bits.AsSpan(0, n), fresh);
    }

}
