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
    /// <summary>The model events the target raises (<c>Machine.Event</c>), for reports of what a corpus reaches.</summary>
    public IReadOnlyList<ModelEventKind> Events { get; init; } = [];

    public SeededBug? FindVariant(string id) => Variants.FirstOrDefault(v => v.Id == id);
}

/// <summary>A model event kind: its value in the event hash, its name, and what its argument is.</summary>
public sealed record ModelEventKind(uint Value, string Name, string Argument)
{
    /// <summary>Every member of <typeparamref name="TKind"/>, named in kebab case (<c>RemoteTlbFlush</c> → remote-tlb-flush).</summary>
    public static IEnumerable<ModelEventKind> Of<TKind>(Func<TKind, string>? argument = null) where TKind : struct, Enum =>
        Enum.GetValues<TKind>().Select(k => new ModelEventKind(Convert.ToUInt32(k), Kebab(k.ToString()), argument?.Invoke(k) ?? ""));

    private static string Kebab(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}

/// <summary>Bits of the program's configuration byte and what they select, e.g. "1-2" = "need_resched quantum (64, 16, 4, never)".</summary>
public sealed record ConfigBits(string Bits, string Meaning);

public sealed record CheckedInvariant(int Id, string Name);

/// <summary>A seeded bug variant: where the defect comes from, what it is, and the invariant that catches it.</summary>
public sealed record SeededBug(string Id, string Source, string Defect, int Invariant);
