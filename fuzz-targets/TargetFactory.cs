using Fuzz.Engine.Fuzzing;
using Fuzz.Targets.Mmu;

namespace Fuzz.Targets;

/// <summary>The targets this assembly provides. Found by name so an uninstrumented copy can be loaded beside the instrumented one.</summary>
public sealed class TargetFactory : ITargetFactory
{
    public string DefaultTarget => MmuTarget.Name;

    public IReadOnlyList<TargetDescription> Targets { get; } = [MmuTarget.Description];

    public IFuzzTarget Create(string target, IReadOnlyCollection<string> bugs) => target switch
    {
        MmuTarget.Name => new MmuRunner(new BugSet(bugs)),
        _ => throw new ArgumentException($"unknown target '{target}' (see `fuzz targets`)"),
    };
}
