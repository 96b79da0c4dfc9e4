using System.Text;
using Fuzz.Engine.Memory;

namespace Fuzz.Targets.Mmu;

/// <summary>
/// The invariants of mmu-model.md §4, checked at the transitions where they must hold: every SPTE
/// and rmap write, every mmu_lock acquire / release / yield, every guest access, the return of
/// invalidate_range_start, and once more when everything is quiescent. Reads go around the
/// scheduler (Peek): checking never adds a scheduling point.
/// </summary>
internal sealed class Checker
{
    private readonly Kvm _kvm;
    private readonly Dictionary<ulong, (int Actor, bool ReadOnly)> _rmapHolders = new();
    private readonly HashSet<ulong> _installedSet = new();
    private readonly List<ulong> _installed = new();
    private readonly bool[] _wpComplete = new bool[Kvm.MaxSlots];
    private readonly List<ulong> _seen = new();
    private bool _pendingZapFlush, _pendingMmuWritableFlush;
    private bool _rmapsChanged = true;
    private int _mayBlockDepth;

    public Checker(Kvm kvm) => _kvm = kvm;

    private SimMemory Mem => _kvm.Mem;

    public void Reset()
    {
        _rmapHolders.Clear();
        _installedSet.Clear();
        _installed.Clear();
        Array.Clear(_wpComplete);
        _pendingZapFlush = _pendingMmuWritableFlush = false;
        _rmapsChanged = true;
        _mayBlockDepth = 0;
    }

    private Fuzz.Engine.Invariants.InvariantViolation Fail(int id, string site, string detail) => Inv.Violation(id, site, detail, DumpState());

    // ---- SPTEs ----

    public void OnSpteWrite(ulong sptep, ulong old, ulong spte, SpteWriter writer)
    {
        bool oldPresent = Spte.IsShadowPresent(old), present = Spte.IsShadowPresent(spte);
        if (present && _installedSet.Add(sptep)) _installed.Add(sptep);
        if (present != oldPresent) _rmapsChanged = true;
        if (present)
        {
            if (Spte.IsWritable(spte) && !Spte.IsMmuWritable(spte))
                throw Fail(Inv.WritableBits, writer.ToString(), $"SPTE 0x{sptep:x} is W but not MMU-writable: {Spte.Describe(spte)}");
            if (Spte.IsMmuWritable(spte) && !Spte.IsHostWritable(spte))
                throw Fail(Inv.WritableBits, writer.ToString(), $"SPTE 0x{sptep:x} is MMU-writable but not host-writable: {Spte.Describe(spte)}");
            if (oldPresent && Spte.ToPfn(old) != Spte.ToPfn(spte))
                throw Fail(Inv.WritableBits, writer.ToString(), $"present SPTE 0x{sptep:x} changed pfn in place: {Spte.Describe(old)} -> {Spte.Describe(spte)}");
            if (oldPresent && Spte.IsHostWritable(old) != Spte.IsHostWritable(spte))
                throw Fail(Inv.WritableBits, writer.ToString(), $"host-writable changed on present SPTE 0x{sptep:x}: {Spte.Describe(old)} -> {Spte.Describe(spte)}");
        }
        if (oldPresent && !present) _pendingZapFlush = true;
        if (oldPresent && present && Spte.IsMmuWritable(old) && !Spte.IsMmuWritable(spte)) _pendingMmuWritableFlush = true;
        if (oldPresent && Spte.IsDirty(old) && !(present && Spte.IsDirty(spte)) && (_kvm.Pfns[(int)Spte.ToPfn(old)] & Kvm.PfnState.Dirty) == 0)
            throw Fail(Inv.AgingHarmless, writer.ToString(), $"dirty bit of SPTE 0x{sptep:x} lost without marking pfn {Spte.ToPfn(old)} dirty: {Spte.Describe(old)} -> {Spte.Describe(spte)}");
        if (writer == SpteWriter.Age && spte != (old & ~Spte.Accessed) && spte != Spte.MarkForAccessTrack(old))
            throw Fail(Inv.AgingHarmless, "aging", $"aging changed more than Accessed on SPTE 0x{sptep:x}: {Spte.Describe(old)} -> {Spte.Describe(spte)}");
    }

    public void OnFlush()
    {
        _pendingZapFlush = false;
        _pendingMmuWritableFlush = false;
    }

    // ---- mmu_lock ----

    public void OnMmuWriteLocked() => CheckRmaps("mmu_lock acquired");

    public void OnMmuWriteUnlocking()
    {
        if (_pendingMmuWritableFlush)
            throw Fail(Inv.WritableBits, "write_unlock(mmu_lock)", "MMU-writable was cleared and mmu_lock released before the remote TLB flush");
        if (_pendingZapFlush)
            throw Fail(Inv.InvalidationCompleteness, "write_unlock(mmu_lock)", "SPTEs were zapped and mmu_lock released before the remote TLB flush");
        CheckRmaps("mmu_lock released");
    }

    public void OnMmuYield()
    {
        if (_pendingZapFlush || _pendingMmuWritableFlush)
            throw Fail(Inv.FlushBeforeYield, "cond_resched_rwlock_write", "mmu_lock dropped to yield with zapped SPTEs not yet flushed from remote TLBs");
        CheckRmaps("mmu_lock dropped to yield");
    }

    public void BeginMayBlockZap(bool mayBlock) { if (mayBlock) _mayBlockDepth++; }

    /// <summary>Invariant 18: a zap that may block does not hold a contended mmu_lock for long.</summary>
    public void OnZapStep()
    {
        if (_mayBlockDepth > 0 && _kvm.MmuLock.Contended && _kvm.Self.Steps - _kvm.MmuLock.AcquiredAtOwnStep > Kvm.YieldBoundSteps)
            throw Fail(Inv.Liveness, "__walk_slot_rmaps", $"zap that may block ran more than {Kvm.YieldBoundSteps} of its own steps holding contended mmu_lock without yielding");
    }

    public void EndMayBlockZap()
    {
        if (_mayBlockDepth > 0) _mayBlockDepth--;
    }

    // ---- rmap lock ----

    public void OnRmapLocked(ulong head, ulong old, bool readOnly)
    {
        var self = _kvm.Self;
        if (old == 0) throw Fail(Inv.RmapLock, "__kvm_rmap_lock", $"rmap 0x{head:x} locked while empty");
        if (_rmapHolders.TryGetValue(head, out var h))
            throw Fail(Inv.RmapLock, "__kvm_rmap_lock", $"rmap 0x{head:x} locked by actor {self.Id} while actor {h.Actor} holds it");
        if (!readOnly && !_kvm.MmuLock.IsWriteHeldBy(self))
            throw Fail(Inv.RmapLock, "kvm_rmap_lock", $"rmap 0x{head:x} locked for write without mmu_lock held for write");
        _rmapHolders[head] = (self.Id, readOnly);
    }

    public void OnRmapUnlock(ulong head, ulong newVal)
    {
        var self = _kvm.Self;
        ulong cur = Mem.Peek(head);
        bool held = _rmapHolders.TryGetValue(head, out var h);
        if (held && (h.Actor != self.Id || h.ReadOnly))
            throw Fail(Inv.RmapLock, "kvm_rmap_unlock", $"rmap 0x{head:x} unlocked by actor {self.Id}, but held by actor {h.Actor}{(h.ReadOnly ? " read-only" : "")}");
        if (!held && cur != 0)
            throw Fail(Inv.RmapLock, "kvm_rmap_unlock", $"rmap 0x{head:x} (0x{cur:x}) written by actor {self.Id} without holding its lock");
        if ((newVal & Kvm.KvmRmapLocked) != 0)
            throw Fail(Inv.RmapLock, "kvm_rmap_unlock", $"unlock of rmap 0x{head:x} stores LOCKED");
        if (newVal != (cur & ~Kvm.KvmRmapLocked) && !_kvm.MmuLock.IsWriteHeldBy(self))
            throw Fail(Inv.RmapLock, "kvm_rmap_unlock", $"rmap 0x{head:x} chain changed without mmu_lock held for write");
        _rmapHolders.Remove(head);
        _rmapsChanged = true;
        CheckShape(head, newVal);
    }

    public void OnRmapUnlockReadonly(ulong head, ulong oldVal)
    {
        var self = _kvm.Self;
        ulong cur = Mem.Peek(head);
        _rmapsChanged = true;
        if (oldVal == 0 && cur == 0) return;
        if (oldVal != (cur & ~Kvm.KvmRmapLocked))
            throw Fail(Inv.RmapLock, "kvm_rmap_unlock_readonly",
                $"read-only unlock by actor {self.Id} writes 0x{oldVal:x} over rmap 0x{head:x} = 0x{cur:x}: a read-only holder changed the rmap");
        if (!_rmapHolders.TryGetValue(head, out var h) || h.Actor != self.Id || !h.ReadOnly)
            throw Fail(Inv.RmapLock, "kvm_rmap_unlock_readonly", $"actor {self.Id} unlocks rmap 0x{head:x} it does not hold read-only");
        _rmapHolders.Remove(head);
    }

    // ---- the invalidation protocol ----

    public void OnFaultSnapshot(KvmPageFault fault)
    {
        if (Mem.Peek(_kvm.InProgressAddr) != 0) _kvm.Machine.Event(MmuEvent.FaultSnapshotInInvalidation, fault.Gfn);
    }

    public void OnFaultInstall(KvmPageFault fault, ulong sptep, ulong spte)
    {
        ulong seq = Mem.Peek(_kvm.SeqAddr);
        if (seq != fault.MmuSeq)
            throw Fail(Inv.NoStaleInstall, "mmu_set_spte", $"fault on gfn 0x{fault.Gfn:x} installs with seq snapshot {fault.MmuSeq}, but mmu_invalidate_seq is {seq}");
        if (Mem.Peek(_kvm.InProgressAddr) != 0 && fault.Gfn >= Mem.Peek(_kvm.RangeStartAddr) && fault.Gfn < Mem.Peek(_kvm.RangeEndAddr))
            throw Fail(Inv.NoStaleInstall, "mmu_set_spte", $"fault installs gfn 0x{fault.Gfn:x} inside the active invalidation range");
        ulong pte = Mem.Peek(_kvm.HostPteAddr(Kvm.HvaBase + fault.Gfn));
        if ((pte & HostPte.Present) == 0 || HostPte.Pfn(pte) != Spte.ToPfn(spte) || (Spte.IsWritable(spte) && (pte & HostPte.Writable) == 0))
            throw Fail(Inv.NoStaleInstall, "mmu_set_spte",
                $"fault installs {Spte.Describe(spte)} for gfn 0x{fault.Gfn:x}, but the host maps {DescribeHostPte(pte)}");
    }

    public void OnInvalidateRangeAdded(ulong start, ulong end)
    {
        if (Mem.Peek(_kvm.RangeStartAddr) > start || Mem.Peek(_kvm.RangeEndAddr) < end)
            throw Fail(Inv.InvalidationCounters, "kvm_mmu_invalidate_range_add", $"active range does not cover added [0x{start:x}, 0x{end:x})");
    }

    /// <summary>When invalidate_range_start returns, nothing maps the invalidated range: no SPTE, no TLB entry.</summary>
    public void OnInvalidateRangeStartReturned(ulong hvaStart, ulong hvaEnd)
    {
        foreach (ulong sptep in _installed)
        {
            ulong spte = Mem.Peek(sptep);
            if (!Spte.IsShadowPresent(spte)) continue;
            ulong hva = Kvm.HvaBase + _kvm.SpteInfo(sptep).Gfn;
            if (hva >= hvaStart && hva < hvaEnd)
                throw Fail(Inv.InvalidationCompleteness, "kvm_mmu_notifier_invalidate_range_start",
                    $"SPTE 0x{sptep:x} still maps hva 0x{hva:x} after invalidate_range_start: {Spte.Describe(spte)}");
        }
        foreach (var v in _kvm.Vcpus)
            for (int i = 0; i < v.Tlb.Count; i++)
            {
                ulong hva = Kvm.HvaBase + v.Tlb[i].Gfn;
                if (hva >= hvaStart && hva < hvaEnd)
                    throw Fail(Inv.InvalidationCompleteness, "kvm_mmu_notifier_invalidate_range_start",
                        $"vCPU {v.Id} TLB still maps hva 0x{hva:x} (gfn 0x{v.Tlb[i].Gfn:x}) after invalidate_range_start");
            }
    }

    // ---- the guest ----

    public void OnGuestAccess(Vcpu vcpu, ulong gfn, ulong pfn, bool write, string via)
    {
        ulong pte = Mem.Peek(_kvm.HostPteAddr(Kvm.HvaBase + gfn));
        if ((pte & HostPte.Present) == 0 || HostPte.Pfn(pte) != pfn || (write && (pte & HostPte.Writable) == 0))
            throw Fail(Inv.InvalidationCompleteness, "guest access",
                $"vCPU {vcpu.Id} {(write ? "wrote" : "read")} gfn 0x{gfn:x} via {via} to pfn {pfn}, but the host maps {DescribeHostPte(pte)}: stale translation");
        if (!write) return;
        ulong slot = SlotCovering(gfn, out int id);
        if (slot == 0 || (Mem.Peek(slot + Kvm.SFlags * 8) & Kvm.KvmMemLogDirtyPages) == 0 || !_wpComplete[id]) return;
        ulong bitmap = Mem.Peek(slot + Kvm.SDirtyBitmap * 8);
        ulong rel = gfn - Mem.Peek(slot + Kvm.SBaseGfn * 8);
        if ((Mem.Peek(bitmap + rel / 64 * 8) & (1UL << (int)(rel % 64))) == 0)
            throw Fail(Inv.DirtyLogging, "guest access",
                $"vCPU {vcpu.Id} wrote gfn 0x{gfn:x} via {via} after dirty-log write protection completed, and the gfn is not marked dirty");
    }

    public void OnWriteProtectStart(int slot) => _wpComplete[slot] = false;
    public void OnWriteProtectDone(int slot) => _wpComplete[slot] = true;
    public void OnMemslotDeleted(int slot)
    {
        _wpComplete[slot] = false;
        _rmapsChanged = true;
    }

    public void OnMemslotsSwapped() => _rmapsChanged = true;

    // ---- global structure checks ----

    private ulong SlotCovering(ulong gfn, out int id)
    {
        ulong slots = Mem.Peek(_kvm.MemslotsAddr);
        for (id = 0; id < Kvm.MaxSlots; id++)
        {
            ulong slot = Mem.Peek(slots + (ulong)(1 + id) * 8);
            if (slot == 0) continue;
            ulong b = Mem.Peek(slot + Kvm.SBaseGfn * 8);
            if (gfn >= b && gfn < b + Mem.Peek(slot + Kvm.SNpages * 8)) return slot;
        }
        return 0;
    }

    /// <summary>Invariants 1-3: every rmap entry is a present leaf SPTE mapping back to it, once; every present SPTE is in its rmap.</summary>
    /// <remarks>
    /// Skipped when nothing it reads (memslots, rmap values, SPTE presence) changed since the last full
    /// check. It reads with Peek, and through the model's helpers only words they read with ReadConst:
    /// none of it counts as the running actor's access.
    /// </remarks>
    private void CheckRmaps(string where)
    {
        if (!_rmapsChanged) return;
        _rmapsChanged = false;
        _seen.Clear();
        ulong slots = Mem.Peek(_kvm.MemslotsAddr);
        for (int id = 0; id < Kvm.MaxSlots; id++)
        {
            ulong slot = Mem.Peek(slots + (ulong)(1 + id) * 8);
            if (slot == 0) continue;
            ulong baseGfn = Mem.Peek(slot + Kvm.SBaseGfn * 8);
            for (int level = 1; level <= Kvm.Levels; level++)
            {
                ulong first = _kvm.GfnToRmap(slot, baseGfn, level), last = _kvm.GfnToRmap(slot, baseGfn + Kvm.SlotPages - 1, level);
                for (ulong head = first; head <= last; head += 8)
                {
                    ulong val = Mem.Peek(head) & ~Kvm.KvmRmapLocked;
                    CheckShape(head, val);
                    if (val == 0) continue;
                    if ((val & Kvm.KvmRmapMany) == 0)
                    {
                        CheckEntry(where, slot, baseGfn, level, head, val);
                        continue;
                    }
                    for (ulong desc = val & ~Kvm.KvmRmapMany; desc != 0; desc = Mem.Peek(desc + PteListDesc.More * 8))
                    {
                        int n = (int)Mem.Peek(desc + PteListDesc.SpteCount * 8);
                        for (int i = 0; i < n; i++) CheckEntry(where, slot, baseGfn, level, head, Mem.Peek(desc + (ulong)(PteListDesc.Sptes + i) * 8));
                    }
                }
            }
        }
        foreach (ulong sptep in _installed)
        {
            if (!Spte.IsShadowPresent(Mem.Peek(sptep)) || _seen.Contains(sptep)) continue;
            var info = _kvm.SpteInfo(sptep);
            throw Fail(Inv.RmapCoverage, where, $"present SPTE 0x{sptep:x} (gfn 0x{info.Gfn:x}, alias {info.Alias}) is in no rmap");
        }
    }

    private void CheckEntry(string where, ulong slot, ulong baseGfn, int level, ulong head, ulong sptep)
    {
        if (!Mem.IsLive(sptep) || Mem.ObjectAt(sptep).Kind != Kvm.ObjShadowPage)
            throw Fail(Inv.RmapContents, where, $"rmap 0x{head:x} holds 0x{sptep:x}, which is not a live SPTE");
        ulong spte = Mem.Peek(sptep);
        if (!Spte.IsShadowPresent(spte))
            throw Fail(Inv.RmapContents, where, $"rmap 0x{head:x} holds non-present SPTE 0x{sptep:x}");
        var info = _kvm.SpteInfo(sptep);
        if (info.Level != level || _kvm.GfnToRmap(slot, info.Gfn, level) != head || info.Gfn < baseGfn || info.Gfn >= baseGfn + Kvm.SlotPages)
            throw Fail(Inv.RmapContents, where, $"SPTE 0x{sptep:x} (gfn 0x{info.Gfn:x} level {info.Level}) is in the wrong rmap 0x{head:x}");
        if (_seen.Contains(sptep))
            throw Fail(Inv.RmapContents, where, $"SPTE 0x{sptep:x} appears twice in rmaps");
        _seen.Add(sptep);
    }

    private IEnumerable<ulong> Entries(ulong val)
    {
        if (val == 0) yield break;
        if ((val & Kvm.KvmRmapMany) == 0) { yield return val; yield break; }
        for (ulong desc = val & ~Kvm.KvmRmapMany; desc != 0; desc = Mem.Peek(desc + PteListDesc.More * 8))
        {
            int n = (int)Mem.Peek(desc + PteListDesc.SpteCount * 8);
            for (int i = 0; i < n && i < PteListDesc.PteListExt; i++) yield return Mem.Peek(desc + (ulong)(PteListDesc.Sptes + i) * 8);
        }
    }

    /// <summary>Invariant 3: head 1..14 entries, tails exactly 14, tail_count exact, unused slots empty.</summary>
    private void CheckShape(ulong head, ulong val)
    {
        if ((val & Kvm.KvmRmapMany) == 0) return;
        bool isHead = true;
        int guard = 0;
        for (ulong desc = val & ~Kvm.KvmRmapMany; desc != 0; desc = Mem.Peek(desc + PteListDesc.More * 8))
        {
            if (!Mem.IsLive(desc) || Mem.ObjectAt(desc).Kind != Kvm.ObjPteListDesc)
                throw Fail(Inv.SafeFree, "rmap chain", $"rmap 0x{head:x} reaches 0x{desc:x}, which is not a live pte_list_desc");
            int n = (int)Mem.Peek(desc + PteListDesc.SpteCount * 8);
            if (isHead ? n is < 1 or > PteListDesc.PteListExt : n != PteListDesc.PteListExt)
                throw Fail(Inv.DescShape, "pte_list_desc", $"rmap 0x{head:x}: {(isHead ? "head" : "tail")} descriptor 0x{desc:x} has {n} entries");
            int tail = 0;
            for (ulong d = Mem.Peek(desc + PteListDesc.More * 8); d != 0 && tail < 1 << 20; d = Mem.Peek(d + PteListDesc.More * 8))
                tail += (int)Mem.Peek(d + PteListDesc.SpteCount * 8);
            if ((int)Mem.Peek(desc + PteListDesc.TailCount * 8) != tail)
                throw Fail(Inv.DescShape, "pte_list_desc", $"rmap 0x{head:x}: descriptor 0x{desc:x} tail_count {Mem.Peek(desc + PteListDesc.TailCount * 8)}, actual {tail}");
            for (int i = 0; i < PteListDesc.PteListExt; i++)
                if ((i < n) != (Mem.Peek(desc + (ulong)(PteListDesc.Sptes + i) * 8) != 0))
                    throw Fail(Inv.DescShape, "pte_list_desc", $"rmap 0x{head:x}: descriptor 0x{desc:x} slot {i} is {(i < n ? "empty" : "used")} with spte_count {n}");
            isHead = false;
            if (++guard > 1000) throw Fail(Inv.DescShape, "pte_list_desc", $"rmap 0x{head:x}: descriptor chain loops");
        }
    }

    public void Quiescent()
    {
        foreach (var (head, h) in _rmapHolders)
            throw Fail(Inv.RmapLock, "quiescent", $"rmap 0x{head:x} still locked by actor {h.Actor}{(h.ReadOnly ? " (read-only)" : "")} after its operation finished");
        if (Mem.Peek(_kvm.InProgressAddr) != 0 || Mem.Peek(_kvm.MnActiveAddr) != 0)
            throw Fail(Inv.InvalidationCounters, "quiescent", "invalidation counters unbalanced with no invalidation running");
        if (_pendingZapFlush || _pendingMmuWritableFlush)
            throw Fail(Inv.InvalidationCompleteness, "quiescent", "SPTE changes were never flushed from the TLBs");
        ulong slots = Mem.Peek(_kvm.MemslotsAddr);
        for (int id = 0; id < Kvm.MaxSlots; id++)
        {
            ulong slot = Mem.Peek(slots + (ulong)(1 + id) * 8);
            if (slot == 0) continue;
            for (int level = 1; level <= Kvm.Levels; level++)
            {
                ulong b = Mem.Peek(slot + Kvm.SBaseGfn * 8);
                ulong last = _kvm.GfnToRmap(slot, b + Kvm.SlotPages - 1, level);
                for (ulong head = _kvm.GfnToRmap(slot, b, level); head <= last; head += 8)
                    if ((Mem.Peek(head) & Kvm.KvmRmapLocked) != 0)
                        throw Fail(Inv.RmapLock, "quiescent", $"rmap 0x{head:x} left LOCKED with no holder running");
            }
        }
        CheckRmaps("quiescent");
    }

    private static string DescribeHostPte(ulong pte) =>
        (pte & HostPte.Present) == 0 ? "nothing" : $"pfn {HostPte.Pfn(pte)} {((pte & HostPte.Writable) != 0 ? "writable" : "read-only")}";

    public string DumpState()
    {
        var sb = new StringBuilder();
        ulong k = _kvm.SeqAddr;
        sb.AppendLine($"mmu_lock: {(_kvm.MmuLock.WriteHolder >= 0 ? $"held for write by actor {_kvm.MmuLock.WriteHolder}" : "free")}");
        sb.AppendLine($"mmu_invalidate_seq={Mem.Peek(k)} in_progress={Mem.Peek(_kvm.InProgressAddr)} range=[0x{Mem.Peek(_kvm.RangeStartAddr):x}, 0x{Mem.Peek(_kvm.RangeEndAddr):x}) mn_active_invalidate_count={Mem.Peek(_kvm.MnActiveAddr)}");
        ulong slots = Mem.Peek(_kvm.MemslotsAddr);
        for (int id = 0; id < Kvm.MaxSlots; id++)
        {
            ulong slot = Mem.Peek(slots + (ulong)(1 + id) * 8);
            if (slot == 0 || !Mem.IsLive(slot)) continue;
            ulong b = Mem.Peek(slot + Kvm.SBaseGfn * 8);
            sb.AppendLine($"memslot {id}: gfn [0x{b:x}, 0x{b + Kvm.SlotPages:x}) flags 0x{Mem.Peek(slot + Kvm.SFlags * 8):x}");
            for (int level = 1; level <= Kvm.Levels; level++)
                for (ulong head = _kvm.GfnToRmap(slot, b, level); head <= _kvm.GfnToRmap(slot, b + Kvm.SlotPages - 1, level); head += 8)
                {
                    if (!Mem.IsLive(head)) continue;
                    ulong raw = Mem.Peek(head);
                    if (raw == 0) continue;
                    string lockState = (raw & Kvm.KvmRmapLocked) != 0 ? " LOCKED" : "";
                    var entries = string.Join(", ", Entries(raw & ~Kvm.KvmRmapLocked).Select(s => $"0x{s:x}"));
                    sb.AppendLine($"  rmap L{level} 0x{head:x} = 0x{raw:x}{lockState}{((raw & Kvm.KvmRmapMany) != 0 ? " MANY" : "")}: [{entries}]");
                }
        }
        if (_installed.Count > 0) sb.AppendLine("SPTEs:");
        foreach (ulong sptep in _installed)
        {
            if (!Mem.IsLive(sptep)) continue;
            var info = _kvm.SpteInfo(sptep);
            sb.AppendLine($"  spte 0x{sptep:x} alias {info.Alias} gfn 0x{info.Gfn:x}: {Spte.Describe(Mem.Peek(sptep))}");
        }
        if (_kvm.Vcpus.Any(v => v.Tlb.Count > 0)) sb.AppendLine("TLBs:");
        foreach (var v in _kvm.Vcpus)
            for (int i = 0; i < v.Tlb.Count; i++)
                sb.AppendLine($"  vCPU {v.Id} TLB: alias {v.Tlb[i].Alias} gfn 0x{v.Tlb[i].Gfn:x} -> pfn {v.Tlb[i].Pfn}{(v.Tlb[i].Writable ? " W" : "")}{(v.Tlb[i].Dirty ? " D" : "")}");
        return sb.ToString();
    }
}
