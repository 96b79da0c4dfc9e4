using Fuzz.Coverage;
using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Fuzz.Tests.Instrumentation;

/// <summary>Reads probes back out of an instrumented assembly's IL.</summary>
internal static class Probes
{
    public static bool IsHit(Instruction? ins) =>
        ins is { OpCode.Code: Code.Call, Operand: MethodReference m }
        && m.Name == nameof(CoverageMap.Hit) && m.DeclaringType.FullName == typeof(CoverageMap).FullName;

    /// <summary>True when a probe (<c>ldc.i4 id; call Hit</c>) starts at <paramref name="ins"/>.</summary>
    public static bool StartsProbe(Instruction? ins) =>
        ins is { OpCode.Code: Code.Ldc_I4 or Code.Ldc_I4_S or Code.Ldc_I4_M1 or >= Code.Ldc_I4_0 and <= Code.Ldc_I4_8 } && IsHit(ins.Next);

    public static string Name(MethodDefinition m) => $"{m.DeclaringType.FullName}::{m.Name}";

    public static IEnumerable<MethodDefinition> Methods(ModuleDefinition module) =>
        module.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody);

    /// <summary>The methods (Cecil names, nested types with '/', overloads repeated) that contain at least one probe.</summary>
    public static List<string> ProbedMethods(string path)
    {
        using var module = ModuleDefinition.ReadModule(path);
        return Methods(module).Where(m => m.Body.Instructions.Any(IsHit)).Select(Name).ToList();
    }

    public static HashSet<int> Cells(byte[] map) => Enumerable.Range(0, map.Length).Where(i => map[i] != 0).ToHashSet();
}
