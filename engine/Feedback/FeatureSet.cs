using System.Numerics;

namespace Fuzz.Engine.Feedback;

/// <summary>
/// The global feature set shared by every fuzz loop: a bit per feature. Feature ids are
/// (map, cell, hit-count bucket): edges of the 64 KiB IL map, then the semantic map's cells.
/// Reads are lock-free; adds take a lock, so "new" is decided once.
/// </summary>
public sealed class FeatureSet
{
    public const int EdgeMapSize = 1 << 16;
    public const int SemanticBase = EdgeMapSize << 3;
    public const int Capacity = SemanticBase + (SemanticFeatures.MapSize << 3);

    private readonly ulong[] _bits = new ulong[Capacity / 64];
    private readonly ulong[] _edges = new ulong[EdgeMapSize / 64];
    private readonly Lock _lock = new();
    private int _features, _edgeCount, _semanticCount;

    public int Features => Volatile.Read(ref _features);

    /// <summary>Distinct IL edges (map cells) seen with any hit count.</summary>
    public int Edges => Volatile.Read(ref _edgeCount);

    /// <summary>Features from the semantic map (interleavings, switches, events, shapes).</summary>
    public int Semantic => Volatile.Read(ref _semanticCount);

    public bool Contains(uint feature) => (Volatile.Read(ref _bits[feature >> 6]) & (1UL << (int)(feature & 63))) != 0;

    /// <summary>Adds the features; returns how many were not there before.</summary>
    public int Add(ReadOnlySpan<uint> features)
    {
        int added = 0;
        lock (_lock)
        {
            foreach (uint f in features)
            {
                ref ulong word = ref _bits[f >> 6];
                ulong bit = 1UL << (int)(f & 63);
                if ((word & bit) != 0) continue;
                Volatile.Write(ref word, word | bit);
                added++;
                if (f < SemanticBase)
                {
                    int edge = (int)(f >> 3);
                    ref ulong e = ref _edges[edge >> 6];
                    ulong ebit = 1UL << (edge & 63);
                    if ((e & ebit) == 0) { e |= ebit; _edgeCount++; }
                }
                else _semanticCount++;
            }
            _features += added;
        }
        return added;
    }

    /// <summary>Every feature present, in ascending order (for merge and replay drift).</summary>
    public IEnumerable<uint> All()
    {
        for (int w = 0; w < _bits.Length; w++)
        {
            ulong v = Volatile.Read(ref _bits[w]);
            while (v != 0)
            {
                int b = BitOperations.TrailingZeroCount(v);
                yield return (uint)(w * 64 + b);
                v &= v - 1;
            }
        }
    }
}
