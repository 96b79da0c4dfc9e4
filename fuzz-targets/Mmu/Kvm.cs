using Fuzz.Engine.Locks;
using Fuzz.Engine.Memory;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Targets.Mmu;

/// <summary>
/// One VM of the model: struct kvm's MMU state in simulated memory, memslots, the host mm the
/// slots map, the shadow pages (a root per guest translation, level-1 pages holding the leaf SPTEs), and the vCPUs' TLBs. The code in the partial files
/// follows arch/x86/kvm/mmu/mmu.c and virt/kvm/kvm_main.c; every shared access is preceded by a
/// scheduling point (<c>yield return null</c>).
/// </summary>
public sealed partial class Kvm
{
    public const int MaxSlots = 3;
    public const int SlotPages = 8;
    public const int Aliases = 16;
    public const int MaxAliasFaults = 48;             // page_fault_aliases: count 1..48 from a base alias
    public const int ShadowAliases = Aliases + MaxAliasFaults - 1;
    public const int MaxVcpus = 4;
    public const int PagesPerHpage2M = 512;           // KVM_PAGES_PER_HPAGE(PG_LEVEL_2M)
    public const int Levels = 2;                      // PG_LEVEL_4K .. KVM_MAX_HUGEPAGE_LEVEL modelled
    public const ulong HvaBase = 0x7f000;             // hva page numbers: hva = HvaBase + gfn
    public const ulong InvalidGpa = ulong.MaxValue;

    // struct kvm words
    private const int KMmuLock = 0, KSeq = 1, KInProgress = 2, KRangeStart = 3, KRangeEnd = 4,
        KMnActive = 5, KMemslots = 6, KSrcuIdx = 7, KSlotsLock = 10, KMemslotsSmm = 11, KvmWords = 12;

    // object kinds in simulated memory
    internal const int ObjKvm = 1, ObjMemslots = 2, ObjMemslot = 3, ObjRmapArray = 4, ObjDirtyBitmap = 5,
        ObjPteListDesc = 6, ObjShadowPage = 7, ObjHostPageTable = 8, ObjVcpus = 9, ObjGfnWriteTrack = 10,
        ObjKvmArchMmu = 11, ObjVcpuRoots = 12;

    // vcpu->mode
    internal const ulong VcpuModeOutsideGuest = 0, VcpuModeReadingShadowPageTables = 1;

    private readonly Machine _m;
    private readonly SimMemory _mem;
    private readonly BugSet _bugs;
    private readonly Checker _check;
    private ulong _kvm;
    private ulong _hostPt;
    private ulong _vcpus;
    internal readonly Vcpu[] Vcpus = new Vcpu[MaxVcpus];
    private RwLock _mmuLock = null!;
    private Srcu _srcu = null!;

    public Kvm(Machine machine, BugSet bugs)
    {
        _m = machine;
        _mem = machine.Memory;
        _bugs = bugs;
        _check = new Checker(this);
        for (int i = 0; i < MaxVcpus; i++) Vcpus[i] = new Vcpu(i);
        _zapAllRmapSptes = KvmZapAllRmapSptes;
        _rmapWriteProtect = head => RmapWriteProtect(head, ptProtect: false);
    }

    // The rmap walkers' bodies, made once: a method group or lambda over `this` is a new delegate each time.
    private readonly Func<ulong, Co> _zapAllRmapSptes, _rmapWriteProtect;

    public bool AdEnabled { get; private set; }
    public int ReschedQuantum { get; private set; } = 32;
    internal Machine Machine => _m;
    internal SimMemory Mem => _mem;
    internal Checker Check => _check;
    internal RwLock MmuLock => _mmuLock;
    internal Actor Self => _m.Current!;

    /// <summary>Calls <paramref name="callee"/> from the running actor: <c>yield return Call(callee)</c>.</summary>
    internal object? Call(Co callee) => _m.Call(callee);
    internal bool Tracing => _m.Trace.Enabled;

    internal ulong MmuLockAddr => _kvm + KMmuLock * 8;
    internal ulong SeqAddr => _kvm + KSeq * 8;
    internal ulong InProgressAddr => _kvm + KInProgress * 8;
    internal ulong RangeStartAddr => _kvm + KRangeStart * 8;
    internal ulong RangeEndAddr => _kvm + KRangeEnd * 8;
    internal ulong MnActiveAddr => _kvm + KMnActive * 8;
    internal ulong MemslotsAddr => _kvm + KMemslots * 8;
    internal ulong SlotsLockAddr => _kvm + KSlotsLock * 8;
    /// <summary>kvm->memslots[as_id]: address space 0, or 1 (SMM).</summary>
    internal ulong MemslotsAddrOf(int asId) => asId == 0 ? MemslotsAddr : _kvm + KMemslotsSmm * 8;
    internal ulong VcpuModeAddr(int vcpu) => _vcpus + (ulong)vcpu * 8;

    /// <summary>kvm_create_vm plus the VMM's initial memslots 0 and 1; all of it before any actor runs.</summary>
    public void Init(bool adEnabled, int reschedQuantum, ulong maxMmuPages = DefaultMaxMmuPages)
    {
        AdEnabled = adEnabled;
        ReschedQuantum = reschedQuantum;
        _pteListDescs.Clear();
        Pfns.Clear();
        foreach (var v in Vcpus)
        {
            v.Tlb.Clear();
            v.MmioGfn = v.MmioGen = 0;
        }
        _kvm = _mem.Alloc(KvmWords, ObjKvm, "struct kvm");
        _mmuLock = new RwLock(_m, MmuLockAddr);
        _srcu = new Srcu(_mem, _kvm + KSrcuIdx * 8);
        _mem.Write(RangeStartAddr, InvalidGpa);
        _mem.Write(RangeEndAddr, InvalidGpa);
        _vcpus = _mem.Alloc(MaxVcpus, ObjVcpus, "vcpu->mode of each vCPU");
        InitShadowMmu(maxMmuPages);
        _hostPt = _mem.Alloc(MaxSlots * SlotPages, ObjHostPageTable, "host page table");
        for (int i = 0; i < MaxSlots * SlotPages; i++) _mem.Write(_hostPt + (ulong)i * 8, HostPte.VmWrite);
        ulong slots = _mem.Alloc(1 + MaxSlots, ObjMemslots, "kvm_memslots");
        _mem.Write(MemslotsAddr, slots);
        for (int s = 0; s < 2; s++) _mem.Write(slots + (ulong)(1 + s) * 8, AllocMemslot(s));
        ulong smmSlots = _mem.Alloc(1 + MaxSlots, ObjMemslots, "kvm_memslots (SMM)");
        _mem.Write(smmSlots + MemslotsGeneration * 8, 1);   // address space 1 uses the odd generations
        _mem.Write(MemslotsAddrOf(1), smmSlots);
        _check.Reset();
    }

    internal ulong CurrentMemslots => _mem.Read(MemslotsAddr);

    // ---- mmu_lock with the checks that hang off it ----

    /// <summary>
    /// write_lock(&amp;kvm->mmu_lock), one pass of its spin after a scheduling point:
    /// <c>yield return null; while (!TryWriteLockMmu()) yield return null;</c>
    /// </summary>
    internal bool TryWriteLockMmu()
    {
        if (!_mmuLock.TryWriteLock(Self)) return false;
        if (Tracing) _m.Log("mmu_lock acquired for write");
        _check.OnMmuWriteLocked();
        return true;
    }

    /// <summary>write_unlock(&amp;kvm->mmu_lock); the caller has passed a scheduling point.</summary>
    internal void WriteUnlockMmu()
    {
        _check.OnMmuWriteUnlocking();
        _mmuLock.WriteUnlock(Self);
        if (Tracing) _m.Log("mmu_lock released");
    }

    internal bool NeedResched => _m.Step - _mmuLock.AcquiredAtStep >= ReschedQuantum;

    /// <summary>cond_resched_rwlock_write(): drop mmu_lock, let others run, retake it.</summary>
    internal Co CondReschedRwlockWrite()
    {
        _check.OnMmuYield();
        _mmuLock.WriteUnlock(Self);
        _m.Event(MmuEvent.CondReschedDrop);
        _m.Log("cond_resched: dropped mmu_lock");
        yield return null;
        while (!TryWriteLockMmu()) yield return null;
        _m.Log("cond_resched: retook mmu_lock");
    }

    /// <summary>
    /// kvm_flush_remote_tlbs(): the request and IPI reach every vCPU, and the call returns when all
    /// have acknowledged; a vCPU inside walk_shadow_page_lockless_begin/end has IRQs off and
    /// acknowledges only when it leaves. That wait is what keeps page tables and descriptors that a
    /// zap frees after the flush alive under lockless walkers. Every vCPU's TLB is empty after it.
    /// </summary>
    internal Co KvmFlushRemoteTlbs()
    {
        var self = Self;
        yield return null;
        for (int i = 0; i < MaxVcpus; i++)
        {
            ulong mode = VcpuModeAddr(i);
            while (_mem.Read(mode) == VcpuModeReadingShadowPageTables)
            {
                self.WaitWhileEquals(mode, VcpuModeReadingShadowPageTables);
                yield return null;
            }
        }
        FlushRemoteTlbs();
    }

    private void FlushRemoteTlbs()
    {
        foreach (var v in Vcpus) v.Tlb.Clear();
        _check.OnFlush();
        _m.Event(MmuEvent.RemoteTlbFlush);
        _m.Log("kvm_flush_remote_tlbs");
    }

    internal int SrcuReadLock() => _srcu.ReadLock();
    internal void SrcuReadUnlock(int idx) => _srcu.ReadUnlock(idx);
    internal Co SynchronizeSrcu() => _srcu.Synchronize(Self);

    /// <summary>Everything must be released and balanced once all actors are done.</summary>
    public void CheckQuiescent() => _check.Quiescent();

    public string Dump() => _check.DumpState();
}
