using System.Text;

namespace Fuzz.Targets.Mmu;

/// <summary>
/// Invariant 15, MMIO currency: an MMIO SPTE or a vCPU's cached MMIO info is used only while no
/// memslot update is in progress, only at the generation it was made at (in full: the bits an SPTE
/// keeps wrap, so after a wrap only the zap-all keeps an old SPTE from matching again), and then
/// the gfn it emulates has no memslot.
/// </summary>
internal sealed partial class Checker
{
    /// <summary>The full generation (in-progress bit cleared) each MMIO SPTE was made at, by SPTE pointer.</summary>
    private readonly Dictionary<ulong, ulong> _mmioSpteGen = new();
    private readonly List<ulong> _mmioSptes = new();

    public void OnMmioSpteSet(ulong sptep, ulong gen)
    {
        if (!_mmioSpteGen.ContainsKey(sptep)) _mmioSptes.Add(sptep);
        _mmioSpteGen[sptep] = gen & ~Kvm.KvmMemslotGenUpdateInProgress;
    }

    /// <summary>check_mmio_spte() passed on <paramref name="gen"/>, the generation it read.</summary>
    public void OnMmioSpteUsed(Vcpu vcpu, ulong sptep, ulong gfn, ulong gen)
    {
        const string site = "handle_mmio_page_fault";
        if ((gen & Kvm.KvmMemslotGenUpdateInProgress) != 0)
            throw Fail(Invariant.MmioCurrency, site, $"vCPU {vcpu.Id} used the MMIO SPTE 0x{sptep:x} of gfn 0x{gfn:x} while a memslot update is in progress (generation 0x{gen:x})");
        ulong made = _mmioSpteGen.GetValueOrDefault(sptep, ulong.MaxValue);
        if (made != gen)
            throw Fail(Invariant.MmioCurrency, site, $"vCPU {vcpu.Id} used the MMIO SPTE 0x{sptep:x} of gfn 0x{gfn:x} made at generation {made} at generation {gen}");
        CheckNoMemslot(vcpu, gfn, site);
    }

    /// <summary>mmio_info_in_cache() matched on <paramref name="gen"/>, the generation it read.</summary>
    public void OnMmioInfoUsed(Vcpu vcpu, ulong gfn, ulong gen)
    {
        const string site = "mmio_info_in_cache";
        if ((gen & Kvm.KvmMemslotGenUpdateInProgress) != 0)
            throw Fail(Invariant.MmioCurrency, site, $"vCPU {vcpu.Id} used its cached MMIO info for gfn 0x{gfn:x} while a memslot update is in progress (generation 0x{gen:x})");
        if (vcpu.MmioGen != gen)
            throw Fail(Invariant.MmioCurrency, site, $"vCPU {vcpu.Id} used its cached MMIO info for gfn 0x{gfn:x} of generation {vcpu.MmioGen} at generation {gen}");
        CheckNoMemslot(vcpu, gfn, site);
    }

    private void CheckNoMemslot(Vcpu vcpu, ulong gfn, string site)
    {
        foreach (var (id, slot) in Memslots)
        {
            ulong b = Mem.Peek(slot + Kvm.SBaseGfn * 8);
            if (gfn < b || gfn >= b + Mem.Peek(slot + Kvm.SNpages * 8)) continue;
            if ((Mem.Peek(slot + Kvm.SFlags * 8) & Kvm.KvmMemslotInvalid) != 0) continue;
            throw Fail(Invariant.MmioCurrency, site, $"vCPU {vcpu.Id} emulates gfn 0x{gfn:x} as MMIO, but memslot {id} maps it");
        }
    }

    private void ResetMmio()
    {
        _mmioSpteGen.Clear();
        _mmioSptes.Clear();
    }

    private void DumpMmio(StringBuilder sb)
    {
        for (int asId = 0; asId < Kvm.NrMemslotAsIds; asId++)
        {
            ulong gen = Mem.Peek(Mem.Peek(_kvm.MemslotsAddrOf(asId)) + Kvm.MemslotsGeneration * 8);
            bool inProgress = (gen & Kvm.KvmMemslotGenUpdateInProgress) != 0;
            sb.AppendLine($"address space {asId}: generation {gen & ~Kvm.KvmMemslotGenUpdateInProgress}{(inProgress ? " (update in progress)" : "")}");
        }
        bool header = false;
        foreach (ulong sptep in _mmioSptes)
        {
            if (!Mem.IsLive(sptep)) continue;
            ulong spte = Mem.Peek(sptep);
            if (!MmioSpte.IsMmio(spte)) continue;
            if (!header) sb.AppendLine("MMIO SPTEs:");
            header = true;
            sb.AppendLine($"  spte 0x{sptep:x}: {MmioSpte.Describe(spte)} (made at generation {_mmioSpteGen[sptep]})");
        }
        foreach (var v in _kvm.Vcpus)
            if (v.MmioGfn != 0) sb.AppendLine($"vCPU {v.Id} MMIO info: gfn 0x{v.MmioGfn:x} generation 0x{v.MmioGen:x}");
    }
}
