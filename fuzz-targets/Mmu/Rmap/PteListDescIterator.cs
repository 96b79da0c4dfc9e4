using Fuzz.Engine.Memory;

namespace Fuzz.Targets.Mmu;

/// <summary>
/// The descriptors of a pte_list_desc chain, from the one given along <c>more</c>, read around the
/// scheduler (Peek): for the checker and the state dump. The next descriptor is read only when
/// asked for, after the caller has looked at the current one (and found it live). The model's own
/// walks pass a scheduling point before every read: rmap_iterator, pte_list_remove.
/// </summary>
internal struct PteListDescIterator(SimMemory mem, ulong first)
{
    private ulong _desc = first;
    private bool _started;

    public readonly PteListDescIterator GetEnumerator() => this;

    public readonly ulong Current => _desc;

    public bool MoveNext()
    {
        if (_started) _desc = mem.Peek(_desc + PteListDesc.More * 8);
        _started = true;
        return _desc != 0;
    }
}
