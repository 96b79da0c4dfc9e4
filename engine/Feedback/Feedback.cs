using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Fuzz.Engine.Feedback;

/// <summary>
/// One fuzz loop's view of an execution's coverage: the IL edge map and the semantic map, read
/// into feature ids (AFL hit-count buckets) and cleared for the next execution.
/// </summary>
public sealed class Feedback
{
    public byte[] EdgeMap { get; } = new byte[FeatureSet.EdgeMapSize];
    public byte[] SemanticMap { get; } = new byte[SemanticFeatures.MapSize];

    private uint[] _features = new uint[1024];
    private int _count;

    /// <summary>The features of the last <see cref="Read"/>.</summary>
    public ReadOnlySpan<uint> Features => _features.AsSpan(0, _count);

    /// <summary>AFL's buckets: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128-255.</summary>
    public static int Bucket(byte count) => count switch
    {
        <= 3 => count - 1,
        <= 7 => 3,
        <= 15 => 4,
        <= 31 => 5,
        <= 127 => 6,
        _ => 7,
    };

    private static readonly byte[] BucketOf = Enumerable.Range(0, 256).Select(c => (byte)(c == 0 ? 0 : Bucket((byte)c))).ToArray();

    /// <summary>Collects this execution's features and clears both maps; returns how many are not yet in <paramref name="global"/>.</summary>
    public int Read(FeatureSet global)
    {
        _count = 0;
        Scan(EdgeMap, 0);
        Scan(SemanticMap, FeatureSet.SemanticBase);
        int fresh = 0;
        for (int i = 0; i < _count; i++)
            if (!global.Contains(_features[i])) fresh++;
        return fresh;
    }

    /// <summary>Clears both maps without reading them.</summary>
    public void Clear()
    {
        Array.Clear(EdgeMap);
        Array.Clear(SemanticMap);
    }

    private void Scan(byte[] map, uint baseId)
    {
        var vectors = MemoryMarshal.Cast<byte, Vector256<byte>>(map.AsSpan());
        for (int v = 0; v < vectors.Length; v++)
        {
            if (vectors[v] == Vector256<byte>.Zero) continue;
            int start = v * Vector256<byte>.Count;
            for (int i = start; i < start + Vector256<byte>.Count; i++)
            {
                byte c = map[i];
                if (c == 0) continue;
                map[i] = 0;
                if (_count == _features.Length) Array.Resize(ref _features, _count * 2);
                _features[_count++] = baseId + ((uint)i << 3) + BucketOf[c];
            }
        }
    }
}
