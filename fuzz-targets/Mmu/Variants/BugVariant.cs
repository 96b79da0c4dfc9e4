namespace Fuzz.Targets.Mmu;

/// <summary>
/// A seeded defect: a one-spot change from the kernel's code, switched on by <see cref="Id"/>, and
/// the invariant it breaks. <see cref="Index"/> is its bit in a <see cref="BugSet"/>.
/// </summary>
public sealed record BugVariant(string Id, string Source, string Defect, Invariant Invariant)
{
    internal int Index { get; init; }
}
