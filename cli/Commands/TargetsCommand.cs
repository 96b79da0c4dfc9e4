using System.CommandLine;

namespace Fuzz.Cli.Commands;

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
        foreach (var t in Targets.Factory.Targets)
        {
            o.WriteLine($"target {t.Name}{(t.Name == Targets.Factory.DefaultTarget ? " (default)" : "")}: {t.Summary}, up to {t.Vocabulary.MaxThreads} threads");
            o.WriteLine("  operations:");
            for (int i = 0; i < t.Vocabulary.Ops.Count; i++)
            {
                var op = t.Vocabulary.Ops[i];
                o.WriteLine($"    {i,2} {op.Name}({string.Join(", ", op.Args.Select(a => a.ToString()))})");
                o.WriteLine($"       {op.Description}");
            }
            o.WriteLine($"  configuration bits: {string.Join(", ", t.Configuration.Select(c => $"{c.Bits} = {c.Meaning}"))}");
            o.WriteLine($"  invariants checked ({t.InvariantsDefinedIn}):");
            foreach (var inv in t.Invariants) o.WriteLine($"    {inv.Id,2} {inv.Name}");
            o.WriteLine("  bug variants (--bug <id>):");
            foreach (var b in t.Variants)
            {
                o.WriteLine($"    {b.Id,-24} invariant {b.Invariant}: {b.Defect}");
                o.WriteLine($"    {"",-24} from {b.Source}");
            }
        }
    }
}
