using Fuzz.Engine.Invariants;
using Fuzz.Engine.Memory;

namespace Fuzz.Targets.Mmu;

/// <summary>
/// The invariants of mmu-model.md §4, checked at the transitions where they must hold: every SPTE
/// and rmap write, every mmu_lock acquire / release / yield, every guest access, the return of
/// invalidate_range_start, and once more when everything is quiescent. Reads go around the
/// scheduler (Peek): checking never adds a scheduling point. One file per family of invariants.
/// </summary>
internal sealed partial class Checker
{
    private readonly Kvm _kvm;

    /// <summary>Every SPTE that was ever present, in the order it first was.</summary>
    private readonly List<ulong> _installed = new();
    private readonly HashSet<ulong> _installedSet = new();

    public Checker(Kvm kvm) => _kvm = kvm;

    private SimMemory Mem => _kvm.Mem;

    /// <summary>The memslots kvm->memslots points at now.</summary>
    private MemslotIterator Memslots => MemslotIterator.Peek(Mem, Mem.Peek(_kvm.MemslotsAddr));

    /// <summary>The first and last rmap head of <paramref name="slot"/> at <paramref name="level"/>.</summary>
    private (ulong First, ulong Last) SlotRmaps(ulong slot, int level)
    {
        ulong baseGfn = Mem.Peek(slot + Kvm.SBaseGfn * 8);
        return (_kvm.GfnToRmap(slot, baseGfn, level), _kvm.GfnToRmap(slot, baseGfn + Kvm.SlotPages - 1, level));
    }

    public void Reset()
    {
        _rmapHolders.Clear();
        _installedSet.Clear();
        _installed.Clear();
        Array.Clear(_wpComplete);
        Array.Clear(_writeTracked);
        _unloggedWrites.Clear();
        Array.Clear(_fastPfUnmarked);
        Array.Clear(_writtenPfns);
        _pendingZapFlush = _pendingMmuWritableFlush = false;
        _rmapsChanged = true;
        _mayBlockDepth = 0;
        ResetMmio();
        ResetShadowPages();
    }

    private InvariantViolation Fail(Invariant invariant, string site, string detail) => invariant.Violation(site, detail, DumpState());

    /// <summary>Once all actors are done: no rmap held or left locked, the counters balanced, every change flushed, the rmaps and shadow pages whole, no descriptor or page leaked.</summary>
    public void Quiescent()
    {
        CheckNoRmapHeld();
        CheckInvalidationBalanced();
        CheckFlushed();
        CheckNoLostDirtyPage();
        CheckNoRmapLocked();
        CheckRmaps("quiescent");
        CheckNoPteListDescLeaked();
        CheckShadowPages("quiescent");
        CheckNoShadowPageLeaked();
    }
}
