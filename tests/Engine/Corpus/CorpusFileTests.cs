using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Input;
using Xunit;

namespace Fuzz.Tests.Engine.Corpus;

public class CorpusFileTests
{
    private static byte[] WithChoices(int n) => [1, 0, 0, .. new byte[n]];

    public static TheoryData<string, byte[], string> Damaged => new()
    {
        { "empty", [], "empty file" },
        { "oversized", new byte[ProgramInput.MaxEncodedBytes + 1], $"oversized: {ProgramInput.MaxEncodedBytes + 1} bytes" },
        { "another version", [2, 0, 0], "unknown format version 2 (expected 1)" },
        { "short header", [1, 0], "truncated: 2 bytes, the header alone is 3" },
        { "too many operations", [1, 0, ProgramInput.MaxOps + 1], $"malformed: {ProgramInput.MaxOps + 1} operations declared, at most {ProgramInput.MaxOps}" },
        { "missing operation", [1, 0, 2, 0, 5], "truncated: 2 operations declared, the file ends before operation 1" },
        { "unknown operation", [1, 0, 1, 2 << 2], "malformed: operation 0 at offset 3 has index 2, the target has 2" },
        { "missing argument", [1, 0, 1, 0], "truncated: the file ends inside operation 0 (a)" },
        { "too many choices", WithChoices(ProgramInput.MaxChoices + 1), $"oversized: {ProgramInput.MaxChoices + 1} choice bytes, at most {ProgramInput.MaxChoices}" },
        { "argument out of its domain", [1, 0, 1, 0, 12], "malformed: byte 4 (0x0c) is outside its field's domain" },
        { "thread beyond the program's", [1, 0, 1, (1 << 2) | 1], "malformed: byte 3 (0x05) is outside its field's domain" },
        { "threads beyond the target's", [1, 3, 0], "malformed: byte 1 (0x03) is outside its field's domain" },
    };

    [Theory]
    [MemberData(nameof(Damaged))]
    public void A_damaged_file_is_refused_with_the_reason(string what, byte[] file, string reason)
    {
        var found = CorpusFile.Validate(file, Toy.Codec, Toy.Vocabulary);
        Assert.NotNull(found);
        Assert.True(found.StartsWith(reason, StringComparison.Ordinal), $"{what}: {found}");
    }

    [Fact]
    public void Every_encoded_program_is_a_valid_corpus_file()
    {
        Assert.Null(CorpusFile.Validate([1, 1, 2, 0, 9, (1 << 2) | 1, 7, 8], Toy.Codec, Toy.Vocabulary));
        Assert.Null(CorpusFile.Validate(WithChoices(ProgramInput.MaxChoices), Toy.Codec, Toy.Vocabulary));
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(),
            seed => CorpusFile.Validate(Toy.Program((ulong)seed), Toy.Codec, Toy.Vocabulary) is null));
    }
}
