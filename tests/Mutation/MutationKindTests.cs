using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Input;
using Fuzz.Engine.Mutation;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;
using static Fuzz.Tests.Mutation.MutationCases;

namespace Fuzz.Tests.Mutation;

/// <summary>Each kind does what its name says, and nothing else, on any input it applies to.</summary>
public class MutationKindTests
{
    public static TheoryData<MutationKind> Kinds() => new(Enum.GetValues<MutationKind>());

    private static ProgramInput Simple() => new(2, 0x05,
        [
            new OpCall(0, (byte)MmuTarget.Op.PageFault, 1, 3, 1, 7),
            new OpCall(1, (byte)MmuTarget.Op.MprotectReadOnly, 0, 2, 4, 0),
            new OpCall(0, (byte)MmuTarget.Op.GuestAccess, 1, 3, 0, 7),
            new OpCall(1, (byte)MmuTarget.Op.MemslotDelete, 1, 0, 0, 0),
        ],
        [0, 1, 1, 0, 2, 3, 1, 0]);

    private static ProgramInput SplicePartner() => new(3, 0x00,
        [
            new OpCall(2, (byte)MmuTarget.Op.ZapShadowPage, 0, 9, 0, 0),
            new OpCall(1, (byte)MmuTarget.Op.DirtyLogGet, 2, 0, 0, 0),
        ],
        [2, 2, 0, 1]);

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Each_kind_applies_to_a_simple_program_and_does_what_it_says(MutationKind kind)
    {
        var m = new ProgramMutator(MmuTarget.Vocabulary);
        var input = Codec.Encode(Simple());
        var splice = Codec.Encode(SplicePartner());
        int applied = 0;
        for (ulong seed = 0; seed < 200; seed++)
        {
            var rng = new SplitMix64(seed);
            if (!m.TryMutate(kind, input, splice, ref rng, out var result))
            {
                // Byte edits and crossovers can land back on the same program; the others always change it.
                Assert.True(kind is MutationKind.Havoc or MutationKind.Splice, $"{kind} seed {seed}");
                continue;
            }
            applied++;
            Assert.True(IsCanonical(result));
            Assert.True(Holds(kind, input, splice, result), $"{kind} seed {seed}: {Codec.Describe(Codec.Decode(result))}");
        }
        Assert.True(applied >= 180, $"{kind} applied {applied} of 200");
    }

    [Theory]
    [MemberData(nameof(Kinds))]
    public void Each_kind_does_what_it_says_on_any_input(MutationKind kind)
    {
        var m = new ProgramMutator(MmuTarget.Vocabulary);
        int tests = 0, applied = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Cases, c =>
        {
            tests++;
            var rng = new SplitMix64(c.Seed);
            if (!m.TryMutate(kind, c.Input, c.Splice, ref rng, out var result)) return true;
            applied++;
            return IsCanonical(result) && Holds(kind, Canonical(c.Input), c.Splice, result);
        }));
        Assert.True(applied * 3 >= tests, $"{kind} applied {applied} of {tests}");
    }

    [Fact]
    public void Kinds_that_cannot_apply_say_so()
    {
        var m = new ProgramMutator(MmuTarget.Vocabulary);
        var empty = Codec.Encode(new ProgramInput(1, 0, [], []));
        var rng = new SplitMix64(1);
        foreach (var kind in new[]
                 {
                     MutationKind.DeleteOp, MutationKind.DuplicateOp, MutationKind.SwapOps, MutationKind.ChangeArg,
                     MutationKind.MoveOpToThread, MutationKind.Splice, MutationKind.ChoiceFlip,
                     MutationKind.ChoiceShiftSwitch, MutationKind.ChoiceTruncate,
                 })
            Assert.False(m.TryMutate(kind, empty, [], ref rng, out _), kind.ToString());
        Assert.True(m.TryMutate(MutationKind.InsertOp, empty, [], ref rng, out _));
        Assert.True(m.TryMutate(MutationKind.ChoiceExtend, empty, [], ref rng, out _));

        var full = AtCaps(3);
        var p = Codec.Decode(full);
        full = Codec.Encode(new ProgramInput(p.Threads, p.Config, p.Ops.Concat(p.Ops).Take(ProgramInput.MaxOps).ToArray(),
            p.Choices.Concat(p.Choices).Take(ProgramInput.MaxChoices).ToArray()));
        Assert.False(m.TryMutate(MutationKind.InsertOp, full, [], ref rng, out _));
        Assert.False(m.TryMutate(MutationKind.DuplicateOp, full, [], ref rng, out _));
        Assert.False(m.TryMutate(MutationKind.ChoiceInsertPreemption, full, [], ref rng, out _));
        Assert.False(m.TryMutate(MutationKind.ChoiceExtend, full, [], ref rng, out _));
    }

    private static bool Holds(MutationKind kind, byte[] input, byte[] splice, byte[] result)
    {
        var a = Codec.Decode(input);
        var b = Codec.Decode(result);
        bool sameButOps = a.Threads == b.Threads && a.Config == b.Config && a.Choices.AsSpan().SequenceEqual(b.Choices);
        bool sameButChoices = a.Threads == b.Threads && a.Config == b.Config && a.Ops.AsSpan().SequenceEqual(b.Ops);
        return kind switch
        {
            MutationKind.InsertOp => sameButOps && RemovingOneGives(b.Ops, a.Ops, out _),
            MutationKind.DeleteOp => sameButOps && RemovingOneGives(a.Ops, b.Ops, out _),
            MutationKind.DuplicateOp => sameButOps && RemovingOneGives(b.Ops, a.Ops, out var dup) && a.Ops.Contains(dup),
            MutationKind.SwapOps => sameButOps && Swapped(a.Ops, b.Ops),
            MutationKind.ChangeArg => sameButOps && OneOpDiffers(a.Ops, b.Ops, out var x, out var y)
                                      && x.Thread == y.Thread && x.Op == y.Op && ArgsDiffering(x, y) == 1,
            MutationKind.MoveOpToThread => sameButOps && OneOpDiffers(a.Ops, b.Ops, out var x, out var y)
                                           && x.Thread != y.Thread && x with { Thread = y.Thread } == y,
            MutationKind.ChangeThreads => a.Config == b.Config && a.Threads != b.Threads
                                          && a.Choices.AsSpan().SequenceEqual(b.Choices)
                                          && a.Ops.Select(o => o with { Thread = (byte)(o.Thread % b.Threads) }).SequenceEqual(b.Ops),
            MutationKind.Splice => IsSplice(a, Codec.Decode(splice), b),
            MutationKind.ChoiceFlip => sameButChoices && a.Choices.Length == b.Choices.Length
                                       && a.Choices.Zip(b.Choices).Count(p => p.First != p.Second) == 1,
            MutationKind.ChoiceInsertPreemption => sameButChoices && RemovingOneGives(b.Choices, a.Choices, out _),
            MutationKind.ChoiceShiftSwitch => sameButChoices && ShiftedByOne(a.Choices, b.Choices),
            MutationKind.ChoiceTruncate => sameButChoices && b.Choices.Length < a.Choices.Length && a.Choices.AsSpan().StartsWith(b.Choices),
            MutationKind.ChoiceExtend => sameButChoices && b.Choices.Length > a.Choices.Length && b.Choices.AsSpan().StartsWith(a.Choices),
            MutationKind.ChangeConfig => a.Threads == b.Threads && a.Ops.AsSpan().SequenceEqual(b.Ops)
                                         && a.Choices.AsSpan().SequenceEqual(b.Choices)
                                         && System.Numerics.BitOperations.PopCount((uint)(a.Config ^ b.Config)) == 1,
            MutationKind.Havoc => true,
            _ => false,
        };
    }

    private static bool RemovingOneGives<T>(T[] longer, T[] shorter, out T removed) where T : IEquatable<T>
    {
        removed = default!;
        if (longer.Length != shorter.Length + 1) return false;
        int k = 0;
        while (k < shorter.Length && longer[k].Equals(shorter[k])) k++;
        removed = longer[k];
        return longer.AsSpan(k + 1).SequenceEqual(shorter.AsSpan(k));
    }

    private static bool Swapped(OpCall[] a, OpCall[] b)
    {
        if (a.Length != b.Length) return false;
        var diff = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToArray();
        return diff.Length == 2 && a[diff[0]] == b[diff[1]] && a[diff[1]] == b[diff[0]];
    }

    private static bool OneOpDiffers(OpCall[] a, OpCall[] b, out OpCall before, out OpCall after)
    {
        before = after = default;
        if (a.Length != b.Length) return false;
        var diff = Enumerable.Range(0, a.Length).Where(i => a[i] != b[i]).ToArray();
        if (diff.Length != 1) return false;
        (before, after) = (a[diff[0]], b[diff[0]]);
        return true;
    }

    private static int ArgsDiffering(OpCall x, OpCall y) => Enumerable.Range(0, ProgramInput.MaxArgs).Count(i => x.Arg(i) != y.Arg(i));

    /// <summary>One byte moved at most three places: the changed window is a rotation by one of the original.</summary>
    private static bool ShiftedByOne(byte[] a, byte[] b)
    {
        if (a.Length != b.Length) return false;
        int first = 0, last = a.Length - 1;
        while (first < a.Length && a[first] == b[first]) first++;
        while (last >= 0 && a[last] == b[last]) last--;
        if (first > last || last - first > 3) return false;
        for (int lo = Math.Max(0, last - 3); lo <= first; lo++)
            for (int hi = last; hi <= Math.Min(a.Length - 1, lo + 3); hi++)
            {
                var w = a.AsSpan(lo, hi - lo + 1);
                var v = b.AsSpan(lo, hi - lo + 1);
                byte[] left = [.. w[1..], w[0]], right = [w[^1], .. w[..^1]];
                if (v.SequenceEqual(left) || v.SequenceEqual(right)) return true;
            }
        return false;
    }

    /// <summary>
    /// Operations: a prefix of the input's then a suffix of the partner's, with either's choice stream;
    /// or the input's operations with a prefix of its choices then a suffix of the partner's.
    /// </summary>
    private static bool IsSplice(ProgramInput a, ProgramInput s, ProgramInput b)
    {
        if (b.Config != a.Config || b.Threads != Math.Max(a.Threads, s.Threads)) return false;
        if (b.Choices.AsSpan().SequenceEqual(a.Choices) || b.Choices.AsSpan().SequenceEqual(s.Choices))
            if (Crossed(a.Ops, s.Ops, b.Ops, ProgramInput.MaxOps)) return true;
        return a.Ops.AsSpan().SequenceEqual(b.Ops) && Crossed(a.Choices, s.Choices, b.Choices, ProgramInput.MaxChoices);
    }

    private static bool Crossed<T>(T[] head, T[] tail, T[] result, int cap) where T : IEquatable<T>
    {
        int common = 0;
        while (common < Math.Min(head.Length, result.Length) && head[common].Equals(result[common])) common++;
        for (int i = 0; i <= common; i++)
        {
            var rest = result.AsSpan(i);
            if (result.Length < cap ? tail.AsSpan().EndsWith(rest) : tail.AsSpan().IndexOf(rest) >= 0) return true;
        }
        return false;
    }
}
