using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Fuzz.Engine.Invariants;

namespace Fuzz.Engine.Memory;

/// <summary>
/// Simulated memory of 64-bit words grouped into objects with identity. Pointers are byte
/// addresses of 8-byte aligned words, so the low three bits are free for tags. Memory is never
/// reused within a run, and a freed object is poisoned, so every use after free is detected.
/// </summary>
public sealed class SimMemory
{
    public const ulong Base = 0x10000;
    public const ulong Poison = 0x6b6b6b6b6b6b6b6bUL;

    // One cell per word: its value, its object (the complement once the object is freed) and, while
    // an observer is told of conflicting accesses, its last access. One array keeps an access to one bounds check and
    // one cache line.
    private struct Cell
    {
        public ulong Value;
        public int Owner;
        public int LastAccess;   // (actor id + 1) | role << 8 | access kind << 16; 0 = none yet
    }

    private Cell[] _cells = new Cell[4096];
    private int _top;
    private readonly List<ObjectInfo> _objects = new() { default };
    private readonly RuntimeInvariants _invariants;
    internal IAccessObserver? Observer;

    // (actor id + 1) | role << 8 of the running actor while an observer is told; 0 = no tracking.
    private int _accessKey;

    /// <summary>The actor whose accesses follow.</summary>
    internal void SetAccessor(int actorId, int role) => _accessKey = Observer is null ? 0 : (actorId + 1) | (role << 8);

    internal void ClearAccessor() => _accessKey = 0;

    public SimMemory(RuntimeInvariants invariants) => _invariants = invariants;

    public readonly record struct ObjectInfo(int FirstWord, int Words, int Kind, bool Alive, string? Label);

    public void Reset()
    {
        Array.Clear(_cells, 0, _top);
        _accessKey = 0;
        _top = 0;
        _objects.RemoveRange(1, _objects.Count - 1);
    }

    public ulong Alloc(int words, int kind, string? label = null)
    {
        if (_top + words > _cells.Length) Array.Resize(ref _cells, Math.Max(_cells.Length * 2, _top + words));
        int id = _objects.Count;
        _objects.Add(new ObjectInfo(_top, words, kind, true, label));
        foreach (ref var c in _cells.AsSpan(_top, words)) c.Owner = id;
        ulong ptr = Base + ((ulong)_top << 3);
        _top += words;
        return ptr;
    }

    /// <summary>The object a word belongs to, freed or not.</summary>
    private int OwnerOf(int w)
    {
        int o = _cells[w].Owner;
        return o < 0 ? ~o : o;
    }

    public void Free(ulong ptr)
    {
        int w = Index(ptr, "free");
        int id = OwnerOf(w);
        var o = _objects[id];
        if (o.FirstWord != w)
            throw Fault($"free of 0x{ptr:x}, which is inside object #{id} but not its start");
        if (!o.Alive)
            throw Fault($"double free of object #{id} ({o.Label}) at 0x{ptr:x}");
        _objects[id] = o with { Alive = false };
        foreach (ref var c in _cells.AsSpan(w, o.Words))
        {
            c.Value = Poison;
            c.Owner = ~id;
        }
    }

    public bool IsLive(ulong ptr)
    {
        ulong off = ptr - Base;
        if (ptr < Base || (off & 7) != 0 || (off >> 3) >= (ulong)_top) return false;
        return _cells[(int)(off >> 3)].Owner >= 0;
    }

    public ObjectInfo ObjectAt(ulong ptr) => _objects[OwnerOf(Index(ptr, "lookup"))];

    public ulong Read(ulong ptr) => Checked(ptr, "read", AccessKind.Read).Value;

    /// <summary>
    /// Reads a word no one writes once its object is published (a memslot's fields, a shadow page's
    /// role): checked like <see cref="Read"/>, but never reported as a conflict. Two actors
    /// reading it order nothing; the store that published the object is where the ordering is.
    /// </summary>
    public ulong ReadConst(ulong ptr) => Live(ptr, "read", out _).Value;

    public void Write(ulong ptr, ulong value) => Checked(ptr, "write", AccessKind.Write).Value = value;

    public ulong Exchange(ulong ptr, ulong value)
    {
        ref ulong v = ref Checked(ptr, "xchg", AccessKind.ReadModifyWrite).Value;
        ulong old = v;
        v = value;
        return old;
    }

    /// <summary>Atomic compare-and-exchange; returns the value found.</summary>
    public ulong CompareExchange(ulong ptr, ulong expected, ulong value)
    {
        ref ulong v = ref Checked(ptr, "cmpxchg", AccessKind.ReadModifyWrite).Value;
        ulong old = v;
        if (old == expected) v = value;
        return old;
    }

    public ulong FetchAnd(ulong ptr, ulong mask)
    {
        ref ulong v = ref Checked(ptr, "and", AccessKind.ReadModifyWrite).Value;
        ulong old = v;
        v = old & mask;
        return old;
    }

    public ulong FetchOr(ulong ptr, ulong mask)
    {
        ref ulong v = ref Checked(ptr, "or", AccessKind.ReadModifyWrite).Value;
        ulong old = v;
        v = old | mask;
        return old;
    }

    public ulong FetchAdd(ulong ptr, long delta)
    {
        ref ulong v = ref Checked(ptr, "add", AccessKind.ReadModifyWrite).Value;
        ulong old = v;
        v = (ulong)((long)old + delta);
        return old;
    }

    /// <summary>Raw word value without a liveness check, for dumps and checkers only.</summary>
    public ulong Peek(ulong ptr)
    {
        ulong off = ptr - Base;
        return ptr >= Base && (off >> 3) < (ulong)_top ? _cells[(int)(off >> 3)].Value : 0;
    }

    /// <summary>The cell of a live word; small enough to inline into every access, the rest is out of line.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Cell Live(ulong ptr, string what, out int w)
    {
        w = Index(ptr, what);
        ref var cell = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_cells), w);
        if (cell.Owner < 0) throw Freed(ptr, what, w, ~cell.Owner);
        return ref cell;
    }

    /// <summary>A live word's cell, with the access recorded for the observer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Cell Checked(ulong ptr, string what, AccessKind access)
    {
        ref var cell = ref Live(ptr, what, out int w);
        int key = _accessKey;
        if (key != 0)
        {
            // Only a change of actor on a conflicting pair (access kinds 1 write, 2 RMW) goes out of
            // line. The three tests are combined without short-circuiting: whether the last access
            // was another actor's is a coin toss, and one mispredicted branch costs more than the tests.
            int me = key | ((int)access << 16), last = cell.LastAccess;
            cell.LastAccess = me;
            if ((((last ^ me) & 0xff) != 0) & (((last | me) & (3 << 16)) != 0) & (last != 0)) Interleave(w, cell.Owner, last, me);
        }
        return ref cell;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private InvariantViolation Wild(ulong ptr, string what) => Fault($"wild pointer: {what} of 0x{ptr:x}");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private InvariantViolation Freed(ulong ptr, string what, int w, int id)
    {
        var o = _objects[id];
        return Fault($"use after free: {what} of 0x{ptr:x}, word {w - o.FirstWord} of freed object #{id} ({o.Label})");
    }

    /// <summary>Two different actors touched the same word back to back, at least one of them writing: the observer is told.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Interleave(int w, int id, int last, int me)
    {
        ref readonly var o = ref CollectionsMarshal.AsSpan(_objects)[id];
        Observer!.Conflict(AccessOf(last), AccessOf(me), in o, w - o.FirstWord);
    }

    private static Access AccessOf(int packed) => new((packed & 0xff) - 1, (packed >> 8) & 0xff, (AccessKind)(packed >> 16));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int Index(ulong ptr, string what)
    {
        ulong off = ptr - Base;
        if (ptr < Base || (off & 7) != 0 || (off >> 3) >= (ulong)_top) throw Wild(ptr, what);
        return (int)(off >> 3);
    }

    private InvariantViolation Fault(string detail) =>
        new(_invariants.SafeFreeId, _invariants.SafeFreeName, detail) { Site = nameof(SimMemory), RuntimeDetector = true };
}
