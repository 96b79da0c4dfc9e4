using Fuzz.Engine.Input;

namespace Fuzz.Engine.Corpus;

/// <summary>
/// What a corpus file must be: a program written by the encoder (version 1, every value in its
/// domain, every operation record complete). Any byte string still decodes, for `fuzz repro`; a
/// corpus holds only canonical encodings, so anything else there is damage and is reported.
/// </summary>
public static class CorpusFile
{
    /// <summary>Null when <paramref name="b"/> is a canonical program, else why not.</summary>
    public static string? Validate(ReadOnlySpan<byte> b, ProgramCodec codec, Vocabulary vocab)
    {
        if (b.Length == 0) return "empty file";
        if (b.Length > ProgramInput.MaxEncodedBytes) return $"oversized: {b.Length} bytes, the largest program is {ProgramInput.MaxEncodedBytes}";
        if (b[0] != ProgramInput.CurrentVersion) return $"unknown format version {b[0]} (expected {ProgramInput.CurrentVersion})";
        if (b.Length < ProgramInput.HeaderBytes) return $"truncated: {b.Length} bytes, the header alone is {ProgramInput.HeaderBytes}";
        int count = b[2];
        if (count > ProgramInput.MaxOps) return $"malformed: {count} operations declared, at most {ProgramInput.MaxOps}";
        int pos = ProgramInput.HeaderBytes;
        for (int i = 0; i < count; i++)
        {
            if (pos >= b.Length) return $"truncated: {count} operations declared, the file ends before operation {i}";
            int op = b[pos] >> 2;
            if (op >= vocab.Ops.Count) return $"malformed: operation {i} at offset {pos} has index {op}, the target has {vocab.Ops.Count}";
            int end = pos + 1 + vocab.Ops[op].Args.Length;
            if (end > b.Length) return $"truncated: the file ends inside operation {i} ({vocab.Ops[op].Name})";
            pos = end;
        }
        if (b.Length - pos > ProgramInput.MaxChoices) return $"oversized: {b.Length - pos} choice bytes, at most {ProgramInput.MaxChoices}";
        var canonical = codec.Encode(codec.Decode(b));
        int diff = b.CommonPrefixLength(canonical);
        if (diff < b.Length || canonical.Length != b.Length)
            return $"malformed: byte {diff} (0x{b[Math.Min(diff, b.Length - 1)]:x2}) is outside its field's domain";
        return null;
    }
}
