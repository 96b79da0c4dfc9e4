using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Input;
using Fuzz.Engine.Mutation;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;
using static Fuzz.Tests.Mutation.MutationCases;

namespace Fuzz.Tests.Mutation;

public class ProgramMutatorProperties
{
    private static bool WithinCaps(byte[] result)
    {
        var p = Codec.Decode(result);
        return IsCanonical(result)
            && result.Length <= ProgramInput.MaxEncodedBytes
            && p.Ops.Length <= ProgramInput.MaxOps
            && p.Choices.Length <= ProgramInput.MaxChoices;
    }

    /// <summary>The program a stacked mutation hands back is the one its encoding decodes to.</summary>
    private static bool Decoded(ProgramInput p, out byte[] encoded)
    {
        encoded = Codec.Encode(p);
        var d = Codec.Decode(encoded);
        return d.Threads == p.Threads && d.Config == p.Config && d.Ops.SequenceEqual(p.Ops) && d.Choices.SequenceEqual(p.Choices);
    }

    [Fact]
    public void Results_are_canonical_and_within_the_caps()
    {
        var m = new ProgramMutator(MmuTarget.Vocabulary);
        var applied = new List<MutationKind>();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000), Prop.ForAll(Cases, c =>
        {
            var rng = new SplitMix64(c.Seed);
            var one = m.Mutate(c.Input, c.Splice, ref rng, out _);
            var stacked = m.MutateStacked(c.Input, c.Splice, ref rng, 6, applied);
            return WithinCaps(one) && Decoded(stacked, out var encoded) && WithinCaps(encoded) && applied.Count is >= 1;
        }));
    }

    [Fact]
    public void Canonicalize_agrees_with_the_codec()
    {
        var m = new ProgramMutator(MmuTarget.Vocabulary);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(1000),
            Prop.ForAll(Bytes.ToArbitrary(), b => m.Canonicalize(b).AsSpan().SequenceEqual(Canonical(b))));
    }

    [Fact]
    public void The_mutator_is_deterministic()
    {
        var a = new ProgramMutator(MmuTarget.Vocabulary);
        var b = new ProgramMutator(MmuTarget.Vocabulary);
        var kindsA = new List<MutationKind>();
        var kindsB = new List<MutationKind>();
        var other = Program(99);
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(Cases, c =>
        {
            var ra = new SplitMix64(c.Seed);
            var rb = new SplitMix64(c.Seed);
            var x = a.Mutate(c.Input, c.Splice, ref ra, out var ka);
            b.Mutate(other, c.Input, ref rb, out _);
            rb = new SplitMix64(c.Seed);
            var y = b.Mutate(c.Input, c.Splice, ref rb, out var kb);
            var xs = a.MutateStacked(c.Input, c.Splice, ref ra, 8, kindsA);
            var ys = b.MutateStacked(c.Input, c.Splice, ref rb, 8, kindsB);
            return x.AsSpan().SequenceEqual(y) && ka == kb
                && Codec.Encode(xs).AsSpan().SequenceEqual(Codec.Encode(ys)) && kindsA.SequenceEqual(kindsB)
                && ra.Next() == rb.Next();
        }));
    }

    [Fact]
    public void Every_kind_is_produced()
    {
        var m = new ProgramMutator(MmuTarget.Vocabulary);
        var seen = new HashSet<MutationKind>();
        for (ulong seed = 0; seed < 5000; seed++)
        {
            var rng = new SplitMix64(seed);
            m.Mutate(Program(seed), Program(seed + 1_000_000), ref rng, out var kind);
            seen.Add(kind);
        }
        Assert.Equal(Enum.GetValues<MutationKind>().Order(), seen.Order());
    }

    [Fact]
    public void Mutation_changes_the_program()
    {
        var m = new ProgramMutator(MmuTarget.Vocabulary);
        var rng = new SplitMix64(2024);
        int changed = 0;
        const int Inputs = 10_000;
        for (int i = 0; i < Inputs; i++)
        {
            ulong s = rng.Next();
            var input = (i % 3) switch
            {
                0 => RandomBytes(rng.Below(64), s),
                1 => Program(s),
                _ => RandomBytes(rng.Below(ProgramInput.MaxEncodedBytes + 64), s),
            };
            var splice = i % 4 == 0 ? [] : Program(s ^ 0x5555);
            var result = m.Mutate(input, splice, ref rng, out _);
            if (!result.AsSpan().SequenceEqual(Canonical(input))) changed++;
        }
        Assert.Equal(Inputs, changed);
    }

    [Fact]
    public void A_long_mutation_chain_stays_canonical()
    {
        var m = new ProgramMutator(MmuTarget.Vocabulary);
        var rng = new SplitMix64(11);
        var applied = new List<MutationKind>();
        byte[] x = [];
        var corpus = new List<byte[]> { Program(1), Program(2) };
        int maxOps = 0;
        for (int i = 0; i < 30_000; i++)
        {
            var splice = corpus[rng.Below(corpus.Count)];
            if (i % 2 == 0) x = m.Mutate(x, splice, ref rng, out _);
            else Assert.True(Decoded(m.MutateStacked(x, splice, ref rng, 4, applied), out x));
            Assert.True(WithinCaps(x));
            maxOps = Math.Max(maxOps, Codec.Decode(x).Ops.Length);
            if (i % 1000 == 0) corpus.Add(x);
        }
        Assert.Equal(ProgramInput.MaxOps, maxOps);
    }

    [Fact]
    public void Weights_favour_structure_over_havoc()
    {
        int total = 0, havoc = 0, ops = 0, choices = 0;
        foreach (var (kind, w) in ProgramMutator.Weights)
        {
            Assert.True(w > 0);
            total += w;
            if (kind == MutationKind.Havoc) havoc = w;
            if (kind is >= MutationKind.InsertOp and <= MutationKind.ChangeThreads) ops += w;
            if (kind is >= MutationKind.ChoiceFlip and <= MutationKind.ChoiceExtend) choices += w;
        }
        Assert.Equal(Enum.GetValues<MutationKind>().Length, ProgramMutator.Weights.Count);
        Assert.True(havoc * 20 <= total);
        Assert.True(ops + choices >= total * 3 / 4);
    }
}
