using Fuzz.Engine.Memory;

namespace Fuzz.Targets.Mmu;

/// <summary>
/// kvm_for_each_memslot() over one kvm_memslots array: the memslots in id order, empty ids skipped,
/// each entry read when the walk reaches it. The model reads the entries as the running actor's
/// accesses (<see cref="Kvm.ForEachMemslot"/>); the checker and the state dump read around the
/// scheduler (<see cref="Peek"/>). A struct, so a walk allocates nothing, also inside a coroutine.
/// </summary>
internal struct MemslotIterator
{
    private readonly SimMemory _mem;
    private readonly ulong _slots;
    private readonly bool _peek;
    private int _id;
    private ulong _slot;

    private MemslotIterator(SimMemory mem, ulong slots, bool peek)
    {
        _mem = mem;
        _slots = slots;
        _peek = peek;
        _id = -1;
    }

    public static MemslotIterator Read(SimMemory mem, ulong slots) => new(mem, slots, peek: false);
    public static MemslotIterator Peek(SimMemory mem, ulong slots) => new(mem, slots, peek: true);

    public readonly MemslotIterator GetEnumerator() => this;

    public readonly (int Id, ulong Slot) Current => (_id, _slot);

    public bool MoveNext()
    {
        while (++_id < Kvm.MaxSlots)
        {
            ulong entry = _slots + (ulong)(1 + _id) * 8;
            _slot = _peek ? _mem.Peek(entry) : _mem.Read(entry);
            if (_slot != 0) return true;
        }
        return false;
    }
}
