using System.Runtime.CompilerServices;
using Fuzz.Engine.Memory;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Feedback;

/// <summary>
/// Features the model reports about what the schedule did, beside IL edges: which roles' accesses
/// interleaved on the same word, context switches between roles, lock hand-offs and protocol
/// states (model events), and the shape of the schedule. Each is a hashed counter in a small map,
/// bucketed like edge counts.
/// </summary>
public sealed class SemanticFeatures : IExecutionObserver
{
    public const int MapBits = 14;
    public const int MapSize = 1 << MapBits;

    /// <summary>The map is followed by one mark per 64-byte line, set when a cell in the line is hit.</summary>
    public const int BufferSize = MapSize + MapSize / 64;

    private const uint Interleaving = 1, Switch = 2, EventFamily = 3, Shape = 4;

    /// <summary>Words of an object up to which each word is a feature of its own (the fields of a small struct, e.g. struct kvm).</summary>
    private const int FieldWords = 32;

    private readonly byte[] _map;

    /// <param name="map">the counters followed by their line marks (<see cref="BufferSize"/> bytes)</param>
    public SemanticFeatures(byte[] map)
    {
        if (map.Length != BufferSize) throw new ArgumentException("semantic map size");
        _map = map;
    }

    /// <summary>(their roles, the access kinds, the object kind, and the word within small objects).</summary>
    public void Conflict(Access previous, Access current, in SimMemory.ObjectInfo target, int word)
    {
        uint field = target.Words <= FieldWords ? (uint)word : 0xff;
        Hit(Interleaving, Who(previous), Who(current), ((uint)target.Kind << 8) | field);
    }

    private static uint Who(Access a) => (uint)a.Role | ((uint)a.Kind << 8);

    /// <summary>(the kind, the running actor's role, the peer's role).</summary>
    public void Event(uint kind, ulong argument, Actor? actor, Actor? peer) =>
        Hit(EventFamily, kind, (uint)(actor?.Role ?? 0), (uint)(peer?.Role ?? 0));

    /// <summary>(the two roles, whether it was a preemption).</summary>
    public void ContextSwitch(Actor from, Actor to, bool preempted) =>
        Hit(Switch, (uint)from.Role, (uint)to.Role, preempted ? 1u : 0u);

    /// <summary>(preemptions up to 8, context switches up to 32, actors).</summary>
    public void Finished(int preemptions, int contextSwitches, int actors) =>
        Hit(Shape, (uint)Math.Min(preemptions, 8), (uint)Math.Min(contextSwitches, 32), (uint)actors);

    /// <summary>
    /// Counts the feature (family, a, b, c) in its cell. The four values are packed into one word and
    /// mixed by two multiplications (the cell is the top bits of the product), half the work of
    /// hashing them one by one, for the hundreds of hits of one execution.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Hit(uint family, uint a, uint b, uint c)
    {
        var map = _map;
        ulong key = family ^ ((ulong)a << 4) ^ ((ulong)b << 24) ^ ((ulong)c << 44);
        key *= 0x9E3779B97F4A7C15UL;
        key = (key ^ (key >> 29)) * 0xBF58476D1CE4E5B9UL;
        int i = (int)(key >> (64 - MapBits));
        ref byte cell = ref map[i];
        if (cell != 255) cell++;
        map[MapSize + (i >> 6)] = 1;
    }
}
