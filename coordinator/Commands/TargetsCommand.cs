using System.CommandLine;
using Fuzz.Targets.Mmu;

namespace Fuzz.Coordinator.Commands;

/// <summary>fuzz targets: the targets, their operations, invariants and seeded bug variants.</summary>
public static class TargetsCommand
{
    public static Command Build()
    {
        var cmd = new Command("targets", "List fuzz targets with their operations, invariants and bug variants");
        cmd.SetAction(_ => { Print(Console.Out); return 0; });
        return cmd;
    }

    public static void Print(TextWriter o)
    {
        o.WriteLine($"target {MmuTarget.Name} (default): the KVM x86 shadow-MMU model, up to {MmuTarget.Vocabulary.MaxThreads} threads");
        o.WriteLine("  operations:");
        for (int i = 0; i < MmuTarget.Vocabulary.Ops.Count; i++)
        {
            var op = MmuTarget.Vocabulary.Ops[i];
            o.WriteLine($"    {i,2} {op.Name}({string.Join(", ", op.Args.Select(a => a.ToString()))})");
            o.WriteLine($"       {op.Description}");
        }
        o.WriteLine("  configuration bits: 0 = A/D bits disabled (eptad=0), 1-2 = need_resched quantum (64, 16, 4, never)");
        o.WriteLine("  invariants checked (mmu-model.md §4):");
        foreach (var (id, name) in MmuTarget.CheckedInvariants) o.WriteLine($"    {id,2} {name}");
        o.WriteLine("  bug variants (--bug <id>):");
        foreach (var b in Bugs.All)
        {
            o.WriteLine($"    {b.Id,-24} invariant {(int)b.Invariant}: {b.Defect}");
            o.WriteLine($"    {"",-24} from {b.Source}");
        }
    }
}
