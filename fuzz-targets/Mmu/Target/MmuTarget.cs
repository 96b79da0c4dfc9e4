using Fuzz.Engine.Locks;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Targets.Mmu;

/// <summary>
/// The default target, "mmu": the whole vocabulary of the model. Thread t is vCPU t for guest
/// operations and an ordinary task (host mm, aging, ioctl) for the rest.
/// </summary>
public sealed class MmuTarget
{
    public const string Name = "mmu";

    public enum Op : byte
    {
        PageFault, GuestAccess, MprotectReadOnly, MprotectReadWrite, MadviseDontneed, ClearYoung, TestYoung,
        MemslotCreate, MemslotDelete, DirtyLogEnable, DirtyLogGet, ZapShadowPage, PageFaultAliases, ReplacePage,
        WriteTrackAdd, WriteTrackRemove, ZapOldest, ZapAllFast, MmioAccess, SmmMemslotToggle,
    }

    private static readonly ArgSpec Slot = new("slot", Kvm.MaxSlots);
    private static readonly ArgSpec Gfn = new("gfn", Kvm.SlotPages);
    private static readonly ArgSpec Write = new("write", 2);
    private static readonly ArgSpec Alias = new("alias", Kvm.Aliases);
    private static readonly ArgSpec Npages = new("npages-1", Kvm.SlotPages);
    private static readonly ArgSpec Count = new("count-1", Kvm.MaxAliasFaults);
    private static readonly ArgSpec Pages = new("pages-1", 8);
    private static readonly ArgSpec MmioCount = new("count-1", 4);

    public static readonly Vocabulary Vocabulary = new(
    [
        new("page_fault", "vCPU page fault: seq snapshot, hva_to_pfn, mmu_lock, staleness check, install SPTE + rmap (an MMIO SPTE where no memslot maps the gfn)", Slot, Gfn, Write, Alias),
        new("guest_access", "guest load/store through the vCPU's TLB, else a page walk setting A/D, else a fault", Slot, Gfn, Write, Alias),
        new("mprotect_ro", "host mprotect(PROT_READ) inside invalidate_range_start/end", Slot, Gfn, Npages),
        new("mprotect_rw", "host mprotect(PROT_READ|PROT_WRITE) inside invalidate_range_start/end", Slot, Gfn, Npages),
        new("madvise_dontneed", "host madvise(MADV_DONTNEED): pages zapped and freed", Slot, Gfn, Npages),
        new("clear_young", "mmu_notifier clear_young (kvm_age_gfn): lockless; clears Accessed, or access-tracks with cmpxchg64 without A/D bits", Slot, Gfn, Npages),
        new("test_young", "mmu_notifier test_young (kvm_test_age_gfn)", Slot, Gfn, Npages),
        new("memslot_create", "KVM_SET_USER_MEMORY_REGION create", Slot),
        new("memslot_delete", "KVM_SET_USER_MEMORY_REGION delete: invalid slot, SRCU, zap, remove", Slot),
        new("dirty_log_enable", "KVM_MEM_LOG_DIRTY_PAGES on: write-protect the slot", Slot),
        new("dirty_log_get", "KVM_GET_DIRTY_LOG: harvest the bitmap, write-protect, flush", Slot),
        new("zap_shadow_page", "reclaim one leaf shadow page: drop_spte each SPTE, commit zap with flush", Slot, Alias),
        new("page_fault_aliases", "read faults on one gfn through count guest translations (shadow paging): aliases alias..alias+count-1, one page_fault each", Slot, Gfn, Alias, Count),
        new("replace_page", "host replace_page() (KSM merge): the page behind one hva becomes a new write-protected page, inside invalidate_range_start/end", Slot, Gfn),
        new("write_track_add", "kvm_write_track_add_gfn(): count the gfn write-tracked, clear W and MMU-writable from its SPTEs, flush under mmu_lock", Slot, Gfn),
        new("write_track_remove", "kvm_write_track_remove_gfn(): drop one write-track count of the gfn, if it has one", Slot, Gfn),
        new("zap_oldest", "mmu_shrink_scan(): kvm_mmu_zap_oldest_mmu_pages(pages) under mmu_lock, skipping roots in use; prepare-zap unlinks parents and children, commit flushes, then frees", Pages),
        new("zap_all_fast", "kvm_mmu_zap_all_fast() under slots_lock: toggle mmu_valid_gen, kick the vCPUs off their roots, zap the obsolete pages (may yield), flush, free", []),
        new("mmio_access", "count guest accesses to one gfn as guest_access (alias 0) does, as a driver polling a device register: where no memslot maps the gfn (slot 2 until created, a deleted slot) the fault caches MMIO info and installs an MMIO SPTE, later accesses take the EPT misconfig path (cached info, check_mmio_spte against the generation)", Slot, Gfn, Write, MmioCount),
        new("smm_memslot_toggle", "KVM_SET_USER_MEMORY_REGION in address space 1 (SMM; slot numbers of every other op are address space 0, and no vCPU enters SMM): create the slot if absent, else delete it; bumps address space 1's generation (the odd ones), and a wrap in either address space zaps all", Slot),
    ], Kvm.MaxVcpus);

    public static readonly ProgramCodec Codec = new(Vocabulary);

    /// <summary>Config bit 0: A/D bits enabled (eptad=1). Bits 1-2: steps before need_resched() while holding mmu_lock.</summary>
    public static bool AdEnabled(byte config) => (config & 1) == 0;
    public static int ReschedQuantum(byte config) => ((config >> 1) & 3) switch { 0 => 64, 1 => 16, 2 => 4, _ => 1 << 30 };

    /// <summary>Config bit 3: n_max_mmu_pages of 8 (as after KVM_SET_NR_MMU_PAGES), so that faults recycle pages through make_mmu_pages_available().</summary>
    public static ulong MaxMmuPages(byte config) => (config & 8) != 0 ? Kvm.SmallMaxMmuPages : Kvm.DefaultMaxMmuPages;

    public static readonly TargetDescription Description = new(
        Name, "the KVM x86 shadow-MMU model", Vocabulary, Codec,
        [new("0", "A/D bits disabled (eptad=0)"), new("1-2", "need_resched quantum (64, 16, 4, never)"), new("3", "n_max_mmu_pages 8 instead of 128")],
        "mmu-model.md §4", Invariants.Names.OrderBy(kv => kv.Key).Select(kv => new CheckedInvariant((int)kv.Key, kv.Value)).ToList(),
        Bugs.All.Select(b => new SeededBug(b.Id, b.Source, b.Defect, (int)b.Invariant)).ToList())
    {
        Events = [.. ModelEventKind.Of<LockEvent>(), .. ModelEventKind.Of<MmuEvent>(EventArgument)],
    };

    private static string EventArgument(MmuEvent e) => e switch
    {
        MmuEvent.PteListDescPrepended => "descriptors in the chain",
        _ => "",
    };

    public static readonly RuntimeInvariants Runtime =
        new((int)Invariant.SafeFree, Invariant.SafeFree.Name(), (int)Invariant.Liveness, Invariant.Liveness.Name());
}

/// <summary>Runs programs on one reusable machine; not thread-safe (one per fuzz loop).</summary>
public sealed class MmuRunner : IFuzzTarget
{
    private readonly Machine _machine = new(MmuTarget.Runtime);
    private readonly Kvm _kvm;
    private readonly BugSet _bugs;

    public MmuRunner(BugSet bugs)
    {
        _bugs = bugs;
        _kvm = new Kvm(_machine, bugs);
    }

    /// <summary>The VM the last run left behind, for reading its state afterwards.</summary>
    internal Kvm Kvm => _kvm;

    string IFuzzTarget.Name => MmuTarget.Name;
    Vocabulary IFuzzTarget.Vocabulary => MmuTarget.Vocabulary;
    ProgramCodec IFuzzTarget.Codec => MmuTarget.Codec;

    public IExecutionObserver? Observer
    {
        get => _machine.Observer;
        set => _machine.Observer = value;
    }

    public ExecResult Execute(ProgramInput program, IScheduleStrategy? strategy = null) =>
        Run(program, strategy ?? new InputStrategy(program.Choices));

    public string Explain(ProgramInput program)
    {
        bool was = Tracing;
        Tracing = true;
        try { return MmuReport.Explain(program, Run(program), _bugs); }
        finally { Tracing = was; }
    }

    public string Header(ProgramInput program) => MmuReport.Header(program, _bugs);

    public (ExecResult Result, string Outcome) Repro(ProgramInput program, bool trace)
    {
        bool was = Tracing;
        Tracing = trace;
        try
        {
            var r = Run(program);
            return (r, MmuReport.Outcome(r));
        }
        finally { Tracing = was; }
    }

    public bool Tracing
    {
        get => _machine.Trace.Enabled;
        set => _machine.Trace.Enabled = value;
    }

    public long MaxSteps
    {
        get => _machine.MaxSteps;
        set => _machine.MaxSteps = value;
    }

    /// <summary>Runs with the program's own choice stream.</summary>
    public ExecResult Run(ProgramInput p) => Run(p, new InputStrategy(p.Choices));

    public ExecResult Run(ProgramInput p, IScheduleStrategy strategy)
    {
        _machine.Reset();
        _kvm.Init(MmuTarget.AdEnabled(p.Config), MmuTarget.ReschedQuantum(p.Config), MmuTarget.MaxMmuPages(p.Config));
        for (int t = 0; t < p.Threads; t++) _machine.Spawn(Labels.Thread[t], Thread(p, t));
        InvariantViolation? violation = null;
        try
        {
            _machine.Run(strategy);
            _kvm.CheckQuiescent();
        }
        catch (InvariantViolation v)
        {
            violation = _machine.Stamp(v);
            int opIndex = _machine.Current?.OperationIndex ?? -1;
            if (violation.Operation.Length == 0 && opIndex >= 0) violation.Operation = Describe(p.Ops[opIndex], opIndex);
            _machine.Log($"VIOLATION invariant {v.Id} ({v.InvariantName}): {v.Detail}");
        }
        return new ExecResult(violation, _machine.Step, _machine.Schedule.ToArray(), _machine.Preemptions, _machine.ContextSwitches,
            _machine.EventHash, _machine.Trace.Enabled ? _machine.Trace.Events.ToArray() : null);
    }

    private Co Thread(ProgramInput p, int t)
    {
        var self = _machine.Current!;
        for (int i = 0; i < p.Ops.Length; i++)
        {
            var op = p.Ops[i];
            if (op.Thread != t) continue;
            self = _machine.Current!;
            self.OperationIndex = i;
            self.Role = op.Op + 1;
            self.OperationName = MmuTarget.Vocabulary.Ops[op.Op].Name;
            if (_machine.Trace.Enabled)
            {
                self.Operation = Describe(op, i);
                _machine.Log($"begin {self.Operation}");
            }
            yield return _machine.Call(Execute(op, t));
            if (_machine.Trace.Enabled) _machine.Log($"end   {self.Operation}");
        }
    }

    public static string Describe(OpCall op, int i)
    {
        var spec = MmuTarget.Vocabulary.Ops[op.Op];
        return $"#{i} {spec.Name}({string.Join(", ", spec.Args.Select((a, k) => $"{a.Name}={op.Arg(k)}"))})";
    }

    private Co Execute(OpCall op, int thread)
    {
        int slot = op.A0;
        switch ((MmuTarget.Op)op.Op)
        {
            case MmuTarget.Op.PageFault:
                return _kvm.VcpuPageFault(_kvm.Vcpus[thread], op.A3, Kvm.GfnOf(slot, op.A1), op.A2 != 0);
            case MmuTarget.Op.GuestAccess:
                return _kvm.GuestAccess(thread, op.A3, Kvm.GfnOf(slot, op.A1), op.A2 != 0);
            case MmuTarget.Op.MprotectReadOnly:
            case MmuTarget.Op.MprotectReadWrite:
            {
                var (s, e) = Kvm.HvaRange(slot, op.A1, op.A2 + 1);
                return _kvm.Mprotect(s, e, readOnly: (MmuTarget.Op)op.Op == MmuTarget.Op.MprotectReadOnly);
            }
            case MmuTarget.Op.MadviseDontneed:
            {
                var (s, e) = Kvm.HvaRange(slot, op.A1, op.A2 + 1);
                return _kvm.MadviseDontneed(s, e);
            }
            case MmuTarget.Op.ClearYoung:
            case MmuTarget.Op.TestYoung:
            {
                var (s, e) = Kvm.HvaRange(slot, op.A1, op.A2 + 1);
                return _kvm.Age(s, e, testOnly: (MmuTarget.Op)op.Op == MmuTarget.Op.TestYoung);
            }
            case MmuTarget.Op.MemslotCreate: return _kvm.MemslotCreate(slot);
            case MmuTarget.Op.MemslotDelete: return _kvm.MemslotDelete(slot);
            case MmuTarget.Op.DirtyLogEnable: return _kvm.DirtyLogEnable(slot);
            case MmuTarget.Op.DirtyLogGet: return _kvm.DirtyLogGet(slot);
            case MmuTarget.Op.ZapShadowPage: return _kvm.ZapShadowPage(op.A1, slot);
            case MmuTarget.Op.ReplacePage: return _kvm.ReplacePage(Kvm.HvaRange(slot, op.A1, 1).Start);
            case MmuTarget.Op.WriteTrackAdd: return _kvm.KvmWriteTrackGfn(Kvm.GfnOf(slot, op.A1), add: true);
            case MmuTarget.Op.WriteTrackRemove: return _kvm.KvmWriteTrackGfn(Kvm.GfnOf(slot, op.A1), add: false);
            case MmuTarget.Op.ZapOldest: return _kvm.MmuShrinkScan(op.A0 + 1);
            case MmuTarget.Op.ZapAllFast: return _kvm.ZapAllFast();
            case MmuTarget.Op.MmioAccess: return MmioAccess(thread, Kvm.GfnOf(slot, op.A1), op.A2 != 0, op.A3 + 1);
            case MmuTarget.Op.SmmMemslotToggle: return _kvm.SmmMemslotToggle(slot);
            default: return PageFaultAliases(_kvm.Vcpus[thread], Kvm.GfnOf(slot, op.A1), op.A2, op.A3 + 1);
        }
    }

    /// <summary>The vCPU accesses <paramref name="gfn"/> <paramref name="count"/> times, each a guest access through alias 0.</summary>
    private Co MmioAccess(int thread, ulong gfn, bool write, int count)
    {
        for (int i = 0; i < count; i++)
            yield return _machine.Call(_kvm.GuestAccess(thread, 0, gfn, write));
    }

    /// <summary>
    /// The vCPU faults on <paramref name="gfn"/> through <paramref name="count"/> guest page tables that
    /// all map it, as shadow paging does: each fault installs its own shadow page's SPTE with mmu_lock
    /// held, so the gfn's rmap grows by one entry per alias.
    /// </summary>
    private Co PageFaultAliases(Vcpu vcpu, ulong gfn, int alias, int count)
    {
        for (int i = 0; i < count; i++)
            yield return _machine.Call(_kvm.VcpuPageFault(vcpu, alias + i, gfn, write: false));
    }
}
