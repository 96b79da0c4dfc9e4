using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Fuzz.Engine.Feedback;

/// <summary>
/// One fuzz loop's view of an execution's coverage: the IL edge map and the semantic map, read a
/// 64-bit word at a time, hit counts classified into AFL's bucket bits, compared with the global
/// set, and cleared for the next execution.
/// </summary>
public sealed class Feedback
{
    public byte[] EdgeMap { get; } = new byte[FeatureSet.EdgeMapSize];
    public byte[] SemanticMap { get; } = new byte[SemanticFeatures.MapSize];

    private int[] _words = new int[1024];
    private ulong[] _bits = new ulong[1024];
    private int _count;

    /// <summary>AFL's buckets as one bit each: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128-255.</summary>
    public static int Bucket(byte count) => count switch
    {
        0 => -1,
        <= 3 => count - 1,
        <= 7 => 3,
        <= 15 => 4,
        <= 31 => 5,
        <= 127 => 6,
        _ => 7,
    };

    private static readonly ushort[] Class16 = BuildClass16();

    private static ushort[] BuildClass16()
    {
        var t = new ushort[65536];
        for (int x = 0; x < 65536; x++)
        {
            int lo = Bucket((byte)x), hi = Bucket((byte)(x >> 8));
            t[x] = (ushort)((lo < 0 ? 0 : 1 << lo) | ((hi < 0 ? 0 : 1 << hi) << 8));
        }
        return t;
    }

    private static ulong Classify(ulong v) =>
        Class16[(int)(v & 0xffff)] | ((ulong)Class16[(int)((v >> 16) & 0xffff)] << 16) |
        ((ulong)Class16[(int)((v >> 32) & 0xffff)] << 32) | ((ulong)Class16[(int)(v >> 48)] << 48);

    /// <summary>The classified words of the last <see cref="Read"/> (word index into the global set, bucket bits).</summary>
    public ReadOnlySpan<int> Words => _words.AsSpan(0, _count);
    public ReadOnlySpan<ulong> Bits => _bits.AsSpan(0, _count);

    /// <summary>The feature ids of the last <see cref="Read"/>, ascending.</summary>
    public uint[] FeatureIds()
    {
        var ids = new List<uint>();
        for (int i = 0; i < _count; i++)
        {
            ulong v = _bits[i];
            while (v != 0)
            {
                int b = BitOperations.TrailingZeroCount(v);
                ids.Add((uint)(_words[i] * 64 + b));
                v &= v - 1;
            }
        }
        return ids.ToArray();
    }

    /// <summary>Classifies this execution's maps, clears them, and tells whether anything is new to <paramref name="global"/>.</summary>
    public bool Read(FeatureSet global)
    {
        _count = 0;
        bool fresh = Scan(EdgeMap, 0, global);
        fresh |= Scan(SemanticMap, FeatureSet.EdgeMapSize / 8, global);
        return fresh;
    }

    public void Clear()
    {
        Array.Clear(EdgeMap);
        Array.Clear(SemanticMap);
    }

    private bool Scan(byte[] map, int wordBase, FeatureSet global)
    {
        bool fresh = false;
        var words = MemoryMarshal.Cast<byte, ulong>(map.AsSpan());
        var vectors = MemoryMarshal.Cast<byte, Vector256<ulong>>(map.AsSpan());
        for (int v = 0; v < vectors.Length; v++)
        {
            if (vectors[v] == Vector256<ulong>.Zero) continue;
            for (int w = v * 4; w < v * 4 + 4; w++)
            {
                ulong raw = words[w];
                if (raw == 0) continue;
                words[w] = 0;
                ulong c = Classify(raw);
                if (_count == _words.Length)
                {
                    Array.Resize(ref _words, _count * 2);
                    Array.Resize(ref _bits, _count * 2);
                }
                _words[_count] = wordBase + w;
                _bits[_count++] = c;
                if (!fresh && global.HasNew(wordBase + w, c)) fresh = true;
            }
        }
        return fresh;
    }
}
