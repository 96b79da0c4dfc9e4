using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Mono.Cecil;
using Mono.Cecil.Cil;
using Xunit;

namespace Fuzz.Tests.Model;

/// <summary>
/// The scheduler never reads a coroutine's <c>Current</c>: a frame yields <c>null</c> at a
/// scheduling point and calls through <see cref="Machine.Call"/>. A coroutine that yielded its
/// callee directly would have the call silently skipped, so every yield of every coroutine in the
/// model and the engine is checked in the IL.
/// </summary>
public class CoroutineShapeTests
{
    public static TheoryData<string> Assemblies() => new()
    {
        Path.Combine(AppContext.BaseDirectory, "raw", "Fuzz.Targets.dll"),
        typeof(MmuRunner).Assembly.Location,
        typeof(Machine).Assembly.Location,
    };

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void Every_coroutine_yields_null_or_a_call(string path)
    {
        using var module = ModuleDefinition.ReadModule(path);
        var bad = new List<string>();
        int yields = 0, calls = 0;
        foreach (var type in module.GetTypes())
        {
            var current = type.Fields.FirstOrDefault(f => f.Name == "<>2__current");
            if (current is null || current.FieldType.FullName != "System.Object") continue;
            var moveNext = type.Methods.Single(m => m.Name == "MoveNext");
            foreach (var ins in moveNext.Body.Instructions)
            {
                if (ins.OpCode.Code != Code.Stfld || ins.Operand is not FieldReference { Name: "<>2__current" }) continue;
                yields++;
                var value = ins.Previous;
                if (value.OpCode.Code == Code.Ldnull) continue;
                if (value.OpCode.Code is Code.Call or Code.Callvirt && value.Operand is MethodReference { Name: "Call" } m
                    && m.ReturnType.FullName == "System.Object")
                {
                    calls++;
                    continue;
                }
                bad.Add($"{type.FullName} at IL_{ins.Offset:x4}: yields the value of {value}");
            }
        }
        Assert.Empty(bad);
        Assert.True(yields > 0, "no coroutine found");
        if (path != typeof(Machine).Assembly.Location) Assert.True(calls > 0, "no call through Call() found");
    }
}
