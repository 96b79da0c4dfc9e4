using Fuzz.Engine.Input;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// What a target is, as the command line shows it and checks arguments against: its vocabulary,
/// the configuration byte's bits, the invariants it checks and the bug variants it can seed.
/// </summary>
/// <param name="Summary">one line, e.g. "the KVM x86 shadow-MMU model"</param>
/// <param name="InvariantsDefinedIn">where the invariants are specified, e.g. "mmu-model.md §4"</param>
public sealed record TargetDescription(
    string Name, string Summary, Vocabulary Vocabulary, ProgramCodec Codec, IReadOnlyList<ConfigBits> Configuration,
    string InvariantsDefinedIn, IReadOnlyList<CheckedInvariant> Invariants, IReadOnlyList<SeededBug> Variants)
{
    public SeededBug? FindVariant(string id) => Variants.FirstOrDefault(v => v.Id == id);
}

/// <summary>Bits of the program's configuration byte and what they select, e.g. "1-2" = "need_resched quantum (64, 16, 4, never)".</summary>
public sealed record ConfigBits(string Bits, string Meaning);

public sealed record CheckedInvariant(int Id, string Name);

/// <summary>A seeded bug variant: where the defect comes from, what it is, and the invariant that catches it.</summary>
public sealed record SeededBug(string Id, string Source, string Defect, int Invariant);
