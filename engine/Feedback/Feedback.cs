using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Fuzz.Engine.Feedback;

/// <summary>
/// One fuzz loop's view of an execution's coverage: the IL edge map and the semantic map, read a
/// 64-bit word at a time, hit counts classified into AFL's bucket bits, compared with the global
/// set, and cleared for the next execution.
/// </summary>
public sealed class Feedback
{
    /// <param name="edgeLines">one byte per 64-byte line of the edge map, set by the probes (what follows them is not read); null = scan the whole map</param>
    public Feedback(byte[]? edgeMap = null, byte[]? edgeLines = null)
    {
        if (edgeMap is not null && edgeMap.Length != FeatureSet.EdgeMapSize) throw new ArgumentException("edge map size");
        if (edgeLines is not null && edgeLines.Length < EdgeLines) throw new ArgumentException("edge line map size");
        EdgeMap = edgeMap ?? new byte[FeatureSet.EdgeMapSize];
        _edgeLines = edgeLines;
        Semantic = new SemanticFeatures(SemanticMap);
    }

    private const int EdgeLines = FeatureSet.EdgeMapSize / 64;
    private readonly byte[]? _edgeLines;

    public byte[] EdgeMap { get; }
    /// <summary>The semantic counters followed by their line marks (<see cref="SemanticFeatures.BufferSize"/>).</summary>
    public byte[] SemanticMap { get; } = new byte[SemanticFeatures.BufferSize];

    /// <summary>The observer that fills <see cref="SemanticMap"/>, for the target to run with.</summary>
    public SemanticFeatures Semantic { get; }

    private int[] _vectorIndex = new int[512];
    private Vector256<ulong>[] _vectorBits = new Vector256<ulong>[512];
    private int _vectors;
    private int[] _words = new int[2048];
    private ulong[] _bits = new ulong[2048];
    private int _count = -1;

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

    private static readonly byte[] Class8 = Enumerable.Range(0, 256).Select(c => (byte)(c == 0 ? 0 : 1 << Bucket((byte)c))).ToArray();

    // pshufb tables: counts 0..15 by the low nibble, 16..255 by the high nibble.
    private static readonly Vector256<byte> LowNibble = Vector256.Create(Class8.AsSpan(0, 16).ToArray().Concat(Class8.AsSpan(0, 16).ToArray()).ToArray());
    private static readonly Vector256<byte> HighNibble = Vector256.Create(Enumerable.Range(0, 32).Select(i => (i & 15) == 0 ? (byte)0 : Class8[(i & 15) << 4]).ToArray());

    private static readonly Vector512<byte> LowNibble512 = Vector512.Create(LowNibble, LowNibble);
    private static readonly Vector512<byte> HighNibble512 = Vector512.Create(HighNibble, HighNibble);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Classify(Vector256<byte> v, Vector256<byte> low, Vector256<byte> high)
    {
        if (!Avx2.IsSupported) return ClassifyScalar(v);
        var highIndex = Vector256.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & Vector256.Create((byte)0x0f);
        var lo = Avx2.Shuffle(low, v & Vector256.Create((byte)0x0f));
        var hi = Avx2.Shuffle(high, highIndex);
        return Vector256.ConditionalSelect(Vector256.Equals(highIndex, Vector256<byte>.Zero), lo, hi);
    }

    /// <summary>A whole 64-byte line at once, where 512-bit vectors are fast.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Classify(Vector512<byte> v, Vector512<byte> low, Vector512<byte> high)
    {
        var highIndex = Vector512.ShiftRightLogical(v.AsUInt16(), 4).AsByte() & Vector512.Create((byte)0x0f);
        var lo = Avx512BW.Shuffle(low, v & Vector512.Create((byte)0x0f));
        var hi = Avx512BW.Shuffle(high, highIndex);
        return Vector512.ConditionalSelect(Vector512.Equals(highIndex, Vector512<byte>.Zero), lo, hi);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static Vector256<byte> ClassifyScalar(Vector256<byte> v)
    {
        Span<byte> b = stackalloc byte[32];
        v.CopyTo(b);
        for (int i = 0; i < 32; i++) b[i] = Class8[b[i]];
        return Vector256.Create<byte>(b);
    }

    /// <summary>The classified words of the last <see cref="Read"/> (word index into the global set, bucket bits).</summary>
    public ReadOnlySpan<int> Words
    {
        get { Expand(); return _words.AsSpan(0, _count); }
    }

    public ReadOnlySpan<ulong> Bits
    {
        get { Expand(); return _bits.AsSpan(0, _count); }
    }

    /// <summary>The nonzero classified vectors as (word, bits) pairs; done only when someone asks (a new input).</summary>
    private void Expand()
    {
        if (_count >= 0) return;
        if (_words.Length < _vectors * 4)
        {
            _words = new int[_vectors * 4];
            _bits = new ulong[_vectors * 4];
        }
        int n = 0;
        for (int i = 0; i < _vectors; i++)
            for (int k = 0; k < 4; k++)
            {
                ulong b = _vectorBits[i].GetElement(k);
                if (b == 0) continue;
                _words[n] = _vectorIndex[i] * 4 + k;
                _bits[n++] = b;
            }
        _count = n;
    }

    /// <summary>The feature ids of the last <see cref="Read"/>, ascending.</summary>
    public uint[] FeatureIds()
    {
        Expand();
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
        _count = -1;
        _vectors = 0;
        bool fresh = _edgeLines is { } lines ? ScanLines(EdgeMap, lines.AsSpan(0, EdgeLines), 0, global) : Scan(EdgeMap, 0, global);
        fresh |= ScanLines(SemanticMap.AsSpan(0, SemanticFeatures.MapSize), SemanticMap.AsSpan(SemanticFeatures.MapSize), FeatureSet.EdgeMapSize / 32, global);
        return fresh;
    }

    public void Clear()
    {
        Array.Clear(EdgeMap);
        if (_edgeLines is not null) Array.Clear(_edgeLines, 0, EdgeLines);
        Array.Clear(SemanticMap);
    }

    /// <summary>
    /// Visits only the 64-byte lines the probes marked; the untouched rest of the map is never read.
    /// The marks are found 32 at a time and each line is taken without a data-dependent branch.
    /// </summary>
    private bool ScanLines(Span<byte> map, Span<byte> lines, int vectorBase, FeatureSet global)
    {
        var fresh = Vector256<ulong>.Zero;
        ref readonly var seen = ref MemoryMarshal.GetReference(global.Vectors);
        ref var vectors = ref Unsafe.As<byte, Vector256<byte>>(ref MemoryMarshal.GetReference(map));
        ref byte marks = ref MemoryMarshal.GetReference(lines);
        int n = _vectors;
        if (_vectorIndex.Length < n + lines.Length * 2)
        {
            Array.Resize(ref _vectorIndex, n + lines.Length * 2);
            Array.Resize(ref _vectorBits, n + lines.Length * 2);
        }
        ref int index = ref MemoryMarshal.GetArrayDataReference(_vectorIndex);
        ref var bits = ref MemoryMarshal.GetArrayDataReference(_vectorBits);
        if (Vector512.IsHardwareAccelerated && Avx512BW.IsSupported)
        {
            bool found = ScanLines512(ref vectors, ref marks, lines.Length, vectorBase, ref index, ref bits, ref n, ref Unsafe.AsRef(in seen));
            _vectors = n;
            return found;
        }
        var low = LowNibble;
        var high = HighNibble;
        for (int chunk = 0; chunk < lines.Length; chunk += 32)
        {
            var m = Vector256.LoadUnsafe(ref marks, (nuint)chunk);
            if (m == Vector256<byte>.Zero) continue;
            Vector256<byte>.Zero.StoreUnsafe(ref marks, (nuint)chunk);
            uint set = ~Vector256.Equals(m, Vector256<byte>.Zero).ExtractMostSignificantBits();
            while (set != 0)
            {
                int v = (chunk + BitOperations.TrailingZeroCount(set)) * 2;
                set &= set - 1;
                for (int h = 0; h < 2; h++, v++)
                {
                    ref var cell = ref Unsafe.Add(ref vectors, v);
                    var c = Classify(cell, low, high).AsUInt64();
                    cell = Vector256<byte>.Zero;
                    Unsafe.Add(ref index, n) = vectorBase + v;
                    Unsafe.Add(ref bits, n++) = c;
                    fresh |= Vector256.AndNot(c, Unsafe.Add(ref Unsafe.AsRef(in seen), vectorBase + v));
                }
            }
        }
        _vectors = n;
        return fresh != Vector256<ulong>.Zero;
    }

    /// <summary><see cref="ScanLines"/> a line per 512-bit vector; records the same two 32-cell vectors per line.</summary>
    private static bool ScanLines512(ref Vector256<byte> vectors, ref byte marks, int lineCount, int vectorBase,
        ref int index, ref Vector256<ulong> bits, ref int n, ref Vector256<ulong> seen)
    {
        var fresh = Vector512<ulong>.Zero;
        ref var cells = ref Unsafe.As<Vector256<byte>, Vector512<byte>>(ref vectors);
        ref var seenLines = ref Unsafe.As<Vector256<ulong>, Vector512<ulong>>(ref Unsafe.Add(ref seen, vectorBase));
        var low = LowNibble512;
        var high = HighNibble512;
        int count = n;
        for (int chunk = 0; chunk < lineCount; chunk += 32)
        {
            var m = Vector256.LoadUnsafe(ref marks, (nuint)chunk);
            if (m == Vector256<byte>.Zero) continue;
            Vector256<byte>.Zero.StoreUnsafe(ref marks, (nuint)chunk);
            uint set = ~Vector256.Equals(m, Vector256<byte>.Zero).ExtractMostSignificantBits();
            while (set != 0)
            {
                int line = chunk + BitOperations.TrailingZeroCount(set);
                set &= set - 1;
                ref var cell = ref Unsafe.Add(ref cells, line);
                var c = Classify(cell, low, high).AsUInt64();
                cell = Vector512<byte>.Zero;
                Unsafe.Add(ref index, count) = vectorBase + line * 2;
                Unsafe.Add(ref index, count + 1) = vectorBase + line * 2 + 1;
                Unsafe.As<Vector256<ulong>, Vector512<ulong>>(ref Unsafe.Add(ref bits, count)) = c;
                count += 2;
                fresh |= Vector512.AndNot(c, Unsafe.Add(ref seenLines, line));
            }
        }
        n = count;
        return fresh != Vector512<ulong>.Zero;
    }

    private bool Scan(byte[] map, int vectorBase, FeatureSet global)
    {
        var fresh = Vector256<ulong>.Zero;
        var seen = global.Vectors;
        var vectors = MemoryMarshal.Cast<byte, Vector256<byte>>(map.AsSpan());
        for (int v = 0; v < vectors.Length; v++) Take(vectors, v, vectorBase, seen, ref fresh);
        return fresh != Vector256<ulong>.Zero;
    }

    /// <summary>Classifies and clears one 32-cell vector of a map, records it, and folds what is new into <paramref name="fresh"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Take(Span<Vector256<byte>> vectors, int v, int vectorBase, ReadOnlySpan<Vector256<ulong>> seen, ref Vector256<ulong> fresh)
    {
        var raw = vectors[v];
        if (raw == Vector256<byte>.Zero) return;
        vectors[v] = Vector256<byte>.Zero;
        var c = Classify(raw, LowNibble, HighNibble).AsUInt64();
        if (_vectors == _vectorIndex.Length)
        {
            Array.Resize(ref _vectorIndex, _vectors * 2);
            Array.Resize(ref _vectorBits, _vectors * 2);
        }
        _vectorIndex[_vectors] = vectorBase + v;
        _vectorBits[_vectors++] = c;
        fresh |= Vector256.AndNot(c, seen[vectorBase + v]);
    }

    /// <summary>Map vectors the last <see cref="Read"/> found non-zero.</summary>
    public int TouchedVectors => _vectors;
}
