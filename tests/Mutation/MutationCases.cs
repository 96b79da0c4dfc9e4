using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;

namespace Fuzz.Tests.Mutation;

/// <summary>One mutation call's inputs: the program, a splice partner (possibly empty) and the rng seed.</summary>
public sealed record MutationCase(byte[] Input, byte[] Splice, ulong Seed)
{
    public override string ToString() => $"input={Convert.ToHexString(Input)} splice={Convert.ToHexString(Splice)} seed={Seed}";
}

/// <summary>Inputs for the mutator: arbitrary bytes, generated programs, and programs at the size caps.</summary>
internal static class MutationCases
{
    public static readonly ProgramCodec Codec = MmuTarget.Codec;

    public static Gen<byte[]> Bytes { get; } = Gen.Frequency(
        (3, ArbMap.Default.ArbFor<byte[]>().Generator),
        (3, Gen.Choose(0, int.MaxValue).Select(s => Program((ulong)s))),
        (1, Gen.Zip(Gen.Choose(0, ProgramInput.MaxEncodedBytes + 200), Gen.Choose(0, int.MaxValue), (n, s) => RandomBytes(n, (ulong)s))),
        (1, Gen.Choose(0, int.MaxValue).Select(s => AtCaps((ulong)s))));

    public static Arbitrary<MutationCase> Cases { get; } = Gen.Zip(
            Gen.Zip(Bytes, Gen.Frequency((1, Gen.Constant(Array.Empty<byte>())), (4, Bytes)), (i, s) => (i, s)),
            ArbMap.Default.ArbFor<ulong>().Generator,
            (p, seed) => new MutationCase(p.i, p.s, seed))
        .ToArbitrary();

    public static byte[] Program(ulong seed)
    {
        var rng = new SplitMix64(seed);
        int ops = rng.Below(ProgramInput.MaxOps + 1), choices = rng.Below(300);
        return Codec.Encode(ProgramGenerator.Random(MmuTarget.Vocabulary, seed, ops, choices));
    }

    public static byte[] AtCaps(ulong seed)
    {
        var rng = new SplitMix64(seed);
        int ops = ProgramInput.MaxOps - rng.Below(2), choices = ProgramInput.MaxChoices - rng.Below(2);
        return Codec.Encode(ProgramGenerator.Random(MmuTarget.Vocabulary, seed, ops, choices));
    }

    public static byte[] RandomBytes(int n, ulong seed)
    {
        var rng = new SplitMix64(seed);
        var b = new byte[n];
        for (int i = 0; i < n; i++) b[i] = (byte)rng.Next();
        return b;
    }

    public static byte[] Canonical(byte[] b) => Codec.Encode(Codec.Decode(b));

    public static bool IsCanonical(byte[] b) => Codec.Encode(Codec.Decode(b)).AsSpan().SequenceEqual(b);
}
