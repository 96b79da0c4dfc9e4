using System.Text;

namespace Fuzz.Targets.Mmu;

/// <summary>The model state a violation report carries: locks, invalidation counters, memslots and their rmaps, SPTEs, TLBs.</summary>
internal sealed partial class Checker
{
    public string DumpState()
    {
        var sb = new StringBuilder();
        ulong k = _kvm.SeqAddr;
        sb.AppendLine($"mmu_lock: {(_kvm.MmuLock.WriteHolder >= 0 ? $"held for write by actor {_kvm.MmuLock.WriteHolder}" : "free")}");
        sb.AppendLine($"mmu_invalidate_seq={Mem.Peek(k)} in_progress={Mem.Peek(_kvm.InProgressAddr)} range=[0x{Mem.Peek(_kvm.RangeStartAddr):x}, 0x{Mem.Peek(_kvm.RangeEndAddr):x}) mn_active_invalidate_count={Mem.Peek(_kvm.MnActiveAddr)}");
        foreach (var (id, slot) in Memslots)
        {
            if (!Mem.IsLive(slot)) continue;
            ulong b = Mem.Peek(slot + Kvm.SBaseGfn * 8);
            sb.AppendLine($"memslot {id}: gfn [0x{b:x}, 0x{b + Kvm.SlotPages:x}) flags 0x{Mem.Peek(slot + Kvm.SFlags * 8):x}");
            for (int level = 1; level <= Kvm.Levels; level++)
            {
                var (first, last) = SlotRmaps(slot, level);
                for (ulong head = first; head <= last; head += 8)
                {
                    if (!Mem.IsLive(head)) continue;
                    ulong raw = Mem.Peek(head);
                    if (raw == 0) continue;
                    string lockState = (raw & Kvm.KvmRmapLocked) != 0 ? " LOCKED" : "";
                    sb.AppendLine($"  rmap L{level} 0x{head:x} = 0x{raw:x}{lockState}{((raw & Kvm.KvmRmapMany) != 0 ? " MANY" : "")}: [{Entries(raw & ~Kvm.KvmRmapLocked)}]");
                }
            }
        }
        if (_installed.Count > 0) sb.AppendLine("SPTEs:");
        foreach (ulong sptep in _installed)
        {
            if (!Mem.IsLive(sptep)) continue;
            var info = _kvm.SpteInfo(sptep);
            sb.AppendLine($"  spte 0x{sptep:x} alias {info.Alias} gfn 0x{info.Gfn:x}: {Spte.Describe(Mem.Peek(sptep))}");
        }
        DumpShadowPages(sb);
        DumpMmio(sb);
        if (_kvm.Vcpus.Any(v => v.Tlb.Count > 0)) sb.AppendLine("TLBs:");
        foreach (var v in _kvm.Vcpus)
            for (int i = 0; i < v.Tlb.Count; i++)
                sb.AppendLine($"  vCPU {v.Id} TLB: alias {v.Tlb[i].Alias} gfn 0x{v.Tlb[i].Gfn:x} -> pfn {v.Tlb[i].Pfn}{(v.Tlb[i].Writable ? " W" : "")}{(v.Tlb[i].Dirty ? " D" : "")}");
        return sb.ToString();
    }

    /// <summary>The SPTE pointers an rmap value holds, in walk order, as far as the descriptors' counts say (at most PTE_LIST_EXT each).</summary>
    private string Entries(ulong val)
    {
        if (val == 0) return "";
        if ((val & Kvm.KvmRmapMany) == 0) return $"0x{val:x}";
        var sb = new StringBuilder();
        foreach (ulong desc in new PteListDescIterator(Mem, val & ~Kvm.KvmRmapMany))
        {
            int n = (int)Mem.Peek(desc + PteListDesc.SpteCount * 8);
            for (int i = 0; i < n && i < PteListDesc.PteListExt; i++)
                sb.Append(sb.Length > 0 ? ", " : "").Append($"0x{Mem.Peek(desc + (ulong)(PteListDesc.Sptes + i) * 8):x}");
        }
        return sb.ToString();
    }

    private static string DescribeHostPte(ulong pte) =>
        (pte & HostPte.Present) == 0 ? "nothing" : $"pfn {HostPte.Pfn(pte)} {((pte & HostPte.Writable) != 0 ? "writable" : "read-only")}";
}
