using Fuzz.Engine.Hashing;

namespace Fuzz.Instrumentation;

/// <summary>The probes of one method: how many, and the edges between them its control flow allows (indices in probe order).</summary>
public sealed record MethodProbes(uint Token, int Count, IReadOnlyList<(int From, int To)> Edges);

/// <summary>
/// Probe ids. Each method gets a block of the id space of its own, and its probes ids inside it, so
/// that the edges between probes of one method (<c>id ^ prev</c>, <c>prev = id &gt;&gt; 1</c>) land
/// in one 64-byte line of the map, or a few for a large method, instead of one line each: a reader
/// of the map then visits few lines. A block of <c>B</c> ids at <c>blk * B</c> puts those edges in
/// the cells <c>gray(blk) * B .. + B</c> (gray(x) = x ^ x &gt;&gt; 1), so blocks are placed where
/// neither the ids nor those cells are taken yet, and the order of the ids inside a block is picked
/// so that the method's edges fall in distinct cells.
/// Everything depends only on the assembly name, the method tokens and the methods' bodies: the same
/// assembly always gets the same ids, whatever the order it is given in.
/// </summary>
public static class ProbeIds
{
    public const int MapSize = 1 << 16;
    private const int Granule = 64;
    private const int MinBlockLog = 6;
    private const int PermutationsTried = 64;
    private const int ExtraSizesTried = 2;

    /// <summary>The ids of every method's probes, in the order of <paramref name="methods"/>; each array in probe order.</summary>
    public static int[][] Assign(string assemblyName, IReadOnlyList<MethodProbes> methods)
    {
        ulong asm = Fnv1a.Hash(assemblyName);
        var idsTaken = new bool[MapSize / Granule];
        var cellsTaken = new bool[MapSize / Granule];
        var result = new int[methods.Count][];
        var order = Enumerable.Range(0, methods.Count).OrderBy(i => methods[i].Token).ThenBy(i => methods[i].Count).ToList();
        foreach (int mi in order)
        {
            var m = methods[mi];
            ulong h = Mix(asm ^ m.Token);
            result[mi] = m.Count == 0 ? [] : Place(m, h, idsTaken, cellsTaken) ?? Hashed(asm, m);
        }
        return result;
    }

    /// <summary>The block and the order inside it; null when the map has no room left (then ids are hashed).</summary>
    private static int[]? Place(MethodProbes m, ulong h, bool[] idsTaken, bool[] cellsTaken)
    {
        int minLog = MinBlockLog;
        while ((1 << minLog) < m.Count) minLog++;
        int[]? best = null;
        int bestCollisions = int.MaxValue, bestLog = minLog;
        for (int log = minLog; log <= minLog + ExtraSizesTried && log <= 15; log++)
        {
            for (int p = 0; p < PermutationsTried; p++)
            {
                var local = Permutation(m.Count, log, Mix(h + (ulong)(log * PermutationsTried + p)));
                int collisions = Collisions(local, m.Edges, log);
                if (collisions < bestCollisions)
                {
                    (best, bestCollisions, bestLog) = (local, collisions, log);
                    if (collisions == 0) break;
                }
            }
            if (bestCollisions == 0) break;
        }
        // The smallest block without collisions, else the one with the fewest; placed at the first free block from a hashed start.
        int size = 1 << bestLog, granules = size / Granule, blocks = MapSize / size;
        int start = (int)(h % (ulong)blocks);
        for (int j = 0; j < blocks; j++)
        {
            int blk = (start + j) % blocks;
            int idFirst = blk * granules, cellFirst = (blk ^ (blk >> 1)) * granules;
            if (Taken(idsTaken, idFirst, granules) || Taken(cellsTaken, cellFirst, granules)) continue;
            idsTaken.AsSpan(idFirst, granules).Fill(true);
            cellsTaken.AsSpan(cellFirst, granules).Fill(true);
            var ids = new int[m.Count];
            for (int i = 0; i < ids.Length; i++) ids[i] = blk * size + best![i];
            return ids;
        }
        return null;
    }

    private static bool Taken(bool[] map, int first, int count) => map.AsSpan(first, count).Contains(true);

    /// <summary>Distinct offsets in a block of 2^log: i * odd ^ x, a bijection on the block.</summary>
    private static int[] Permutation(int count, int log, ulong r)
    {
        int mask = (1 << log) - 1;
        int odd = (int)(r & (uint)mask) | 1, x = (int)((r >> 32) & (uint)mask);
        var local = new int[count];
        for (int i = 0; i < count; i++) local[i] = ((i * odd) ^ x) & mask;
        return local;
    }

    /// <summary>Edges that share a cell with an earlier edge (cells inside the block: to ^ from &gt;&gt; 1).</summary>
    private static int Collisions(int[] local, IReadOnlyList<(int From, int To)> edges, int log)
    {
        var seen = new HashSet<int>();
        int n = 0;
        foreach (var (from, to) in edges)
            if (!seen.Add((local[to] ^ (local[from] >> 1)) & ((1 << log) - 1))) n++;
        return n;
    }

    /// <summary>The fallback when the map is full: a hash of (assembly, method token, probe index).</summary>
    private static int[] Hashed(ulong asm, MethodProbes m)
    {
        var ids = new int[m.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = (int)(Mix(Mix(asm ^ m.Token) ^ (uint)i) & (MapSize - 1));
        return ids;
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9UL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebUL;
        return z ^ (z >> 31);
    }
}
