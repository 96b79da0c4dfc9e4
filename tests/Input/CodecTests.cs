using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;
using Fuzz.Targets.Mmu;
using Xunit;

namespace Fuzz.Tests.Input;

public class CodecTests
{
    private static readonly ProgramCodec Codec = MmuTarget.Codec;

    [Fact]
    public void Any_bytes_decode_and_reencode_to_a_fixed_point()
    {
        var rng = new SplitMix64(7);
        for (int i = 0; i < 20_000; i++)
        {
            var bytes = new byte[rng.Below(600)];
            for (int k = 0; k < bytes.Length; k++) bytes[k] = (byte)rng.Next();
            var p = Codec.Decode(bytes);
            var once = Codec.Encode(p);
            var twice = Codec.Encode(Codec.Decode(once));
            Assert.Equal(once, twice);
            Assert.InRange(p.Ops.Length, 0, ProgramInput.MaxOps);
            Assert.All(p.Ops, op => Assert.InRange(op.Thread, 0, p.Threads - 1));
        }
    }

    [Fact]
    public void Empty_and_truncated_inputs_decode()
    {
        Assert.Empty(Codec.Decode([]).Ops);
        var p = Codec.Decode([1, 0x02, 5]);
        Assert.Equal(5, p.Ops.Length);
        Assert.Equal(3, p.Threads);
    }

    [Fact]
    public void Program_size_is_capped()
    {
        var big = new byte[1 << 20];
        new Random(3).NextBytes(big);
        var p = Codec.Decode(big);
        Assert.True(p.Ops.Length <= ProgramInput.MaxOps);
        Assert.True(p.Choices.Length <= ProgramInput.MaxChoices);
        Assert.True(Codec.Encode(p).Length <= ProgramInput.MaxEncodedBytes);
    }

    [Fact]
    public void Decoded_programs_round_trip_exactly()
    {
        for (ulong seed = 0; seed < 500; seed++)
        {
            var p = ProgramGenerator.Random(MmuTarget.Vocabulary, seed, 1 + (int)(seed % 40), (int)(seed % 300));
            var q = Codec.Decode(Codec.Encode(p));
            Assert.Equal(p.Ops, q.Ops);
            Assert.Equal(p.Choices, q.Choices);
            Assert.Equal(p.Threads, q.Threads);
            Assert.Equal(p.Config, q.Config);
        }
    }
}
