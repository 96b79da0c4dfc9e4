using Fuzz.Engine.Input;

namespace Fuzz.Tests.Engine.Corpus;

/// <summary>A two-operation target vocabulary: a(x:0..9) and b(), on up to two threads.</summary>
internal static class Toy
{
    public static readonly Vocabulary Vocabulary = new([new("a", "", new ArgSpec("x", 10)), new("b", "")], 2);
    public static readonly ProgramCodec Codec = new(Vocabulary);

    public static byte[] Program(ulong seed) => Codec.Encode(ProgramGenerator.Random(Vocabulary, seed, 5, 4));
}
