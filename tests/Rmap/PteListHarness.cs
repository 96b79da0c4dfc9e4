using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;

namespace Fuzz.Tests.Rmap;

/// <summary>
/// Drives pte_list_add / pte_list_remove on one rmap head with a single actor holding mmu_lock,
/// so the rmap code can be checked against a plain multiset.
/// </summary>
internal sealed class PteListHarness
{
    private readonly Machine _machine = new(MmuTarget.Runtime);
    private readonly Kvm _kvm;
    private readonly ulong _head;
    private readonly ulong _sptes;

    public PteListHarness(int maxSptes)
    {
        _kvm = new Kvm(_machine, BugSet.None);
        _kvm.Init(adEnabled: true, reschedQuantum: 1 << 30);
        _head = _machine.Memory.Alloc(1, Kvm.ObjRmapArray, "rmap under test");
        _sptes = _machine.Memory.Alloc(maxSptes, Kvm.ObjShadowPage, "spte words");
    }

    public ulong SptePointer(int i) => _sptes + (ulong)i * 8;
    public ulong HeadValue => _machine.Memory.Peek(_head);

    /// <summary>Applies the operations (true = add, false = remove) in order; returns pte_list_add's counts.</summary>
    public IReadOnlyList<int> Apply(IEnumerable<(bool Add, int Spte)> ops)
    {
        var counts = new List<int>();
        _machine.Spawn("T0", Body(ops, counts));
        _machine.Run(new InputStrategy([]));
        return counts;
    }

    private IEnumerator<object?> Body(IEnumerable<(bool Add, int Spte)> ops, List<int> counts)
    {
        var self = _machine.Current!;
        yield return null;
        while (!_kvm.TryWriteLockMmu()) yield return null;
        foreach (var (add, spte) in ops)
        {
            if (add)
            {
                yield return _kvm.Call(_kvm.PteListAdd(SptePointer(spte), _head));
                counts.Add((int)self.Ret);
            }
            else yield return _kvm.Call(_kvm.PteListRemove(SptePointer(spte), _head));
        }
        yield return null;
        _kvm.MmuLock.WriteUnlock(self);
    }

    /// <summary>The entries of the chain in walk order, and its descriptors' (spte_count, tail_count) from the head.</summary>
    public (List<ulong> Entries, List<(int Count, int Tail)> Descs) Walk()
    {
        var mem = _machine.Memory;
        var entries = new List<ulong>();
        var descs = new List<(int, int)>();
        ulong val = mem.Peek(_head);
        if (val == 0) return (entries, descs);
        if ((val & Kvm.KvmRmapMany) == 0) { entries.Add(val); return (entries, descs); }
        for (ulong d = val & ~Kvm.KvmRmapMany; d != 0; d = mem.Read(d + PteListDesc.More * 8))
        {
            int n = (int)mem.Read(d + PteListDesc.SpteCount * 8);
            descs.Add((n, (int)mem.Read(d + PteListDesc.TailCount * 8)));
            for (int i = 0; i < PteListDesc.PteListExt; i++)
            {
                ulong s = mem.Read(d + (ulong)(PteListDesc.Sptes + i) * 8);
                if (i < n) entries.Add(s);
                else if (s != 0) throw new InvalidOperationException($"descriptor slot {i} used beyond spte_count {n}");
            }
        }
        return (entries, descs);
    }

    /// <summary>The descriptors the checker's walk (PteListDescIterator) visits from the head, as (spte_count, tail_count).</summary>
    public List<(int Count, int Tail)> CheckerDescs()
    {
        var mem = _machine.Memory;
        var descs = new List<(int, int)>();
        ulong val = mem.Peek(_head);
        if ((val & Kvm.KvmRmapMany) == 0) return descs;
        foreach (ulong d in new PteListDescIterator(mem, val & ~Kvm.KvmRmapMany))
            descs.Add(((int)mem.Peek(d + PteListDesc.SpteCount * 8), (int)mem.Peek(d + PteListDesc.TailCount * 8)));
        return descs;
    }
}
