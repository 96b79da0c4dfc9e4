using System.Buffers.Binary;
using Fuzz.Engine.Input;

namespace Fuzz.Engine.Mutation;

/// <summary>
/// A decoded program held in fixed, reusable buffers. <see cref="Load"/> decodes exactly as
/// <see cref="ProgramCodec.Decode"/> does and <see cref="Encode"/> writes the same bytes as
/// <see cref="ProgramCodec.Encode"/>, without allocating a <see cref="ProgramInput"/>.
/// </summary>
internal sealed class ProgramBuffer
{
    private readonly OpShapes _shapes;

    /// <summary>Room for a whole argument word after the last operation's tag.</summary>
    private readonly byte[] _encoded = new byte[ProgramInput.MaxEncodedBytes + ProgramInput.MaxArgs];

    public ProgramBuffer(OpShapes shapes) => _shapes = shapes;

    public OpCall[] Ops { get; } = new OpCall[ProgramInput.MaxOps];
    public byte[] Choices { get; } = new byte[ProgramInput.MaxChoices];
    public int OpCount { get; set; }
    public int ChoiceCount { get; set; }
    public int Threads { get; set; } = 1;
    public byte Config { get; set; }

    /// <summary>Decodes <paramref name="b"/>; returns whether it already was the canonical encoding.</summary>
    public bool Load(ReadOnlySpan<byte> b)
    {
        int len = b.Length;
        bool canonical = len >= ProgramInput.HeaderBytes && b[0] == ProgramInput.CurrentVersion;
        int shape = len > 1 ? b[1] : 0;
        if ((shape & 3) >= _shapes.MaxThreads) canonical = false;
        int threads = (shape & 3) % _shapes.MaxThreads + 1;
        Threads = threads;
        Config = (byte)(shape >> 2);

        int count = len > 2 ? b[2] : 0;
        if (count > ProgramInput.MaxOps)
        {
            canonical = false;
            count %= ProgramInput.MaxOps + 1;
        }
        int pos = ProgramInput.HeaderBytes;
        int[] argCount = _shapes.ArgCount, domain = _shapes.Domain;
        var ops = Ops;
        for (int i = 0; i < count; i++)
        {
            int tag, op, n;
            uint packed;
            if (pos + 1 + ProgramInput.MaxArgs <= len)
            {
                tag = b[pos];
                op = tag >> 2;
                if (op >= _shapes.OpKinds) op %= _shapes.OpKinds;
                n = argCount[op];
                packed = BinaryPrimitives.ReadUInt32LittleEndian(b.Slice(pos + 1)) & (uint)((1UL << (8 * n)) - 1);
            }
            else
            {
                tag = pos < len ? b[pos] : 0;
                op = (tag >> 2) % _shapes.OpKinds;
                n = argCount[op];
                packed = 0;
                for (int a = 0; a < n; a++)
                    if (pos + 1 + a < len) packed |= (uint)b[pos + 1 + a] << (8 * a);
            }
            pos += 1 + n;
            int thread = tag & 3;
            if (thread >= threads) thread %= threads;
            if ((tag >> 2) != op || thread != (tag & 3)) canonical = false;

            int d0 = op * ProgramInput.MaxArgs;
            if ((int)(packed & 0xff) >= domain[d0] | (int)((packed >> 8) & 0xff) >= domain[d0 + 1]
                | (int)((packed >> 16) & 0xff) >= domain[d0 + 2] | (int)(packed >> 24) >= domain[d0 + 3])
            {
                canonical = false;
                packed = Reduce(packed, d0);
            }
            ops[i] = Make(thread, op, packed);
        }
        OpCount = count;
        if (pos > len) canonical = false;
        int rest = len - pos;
        if (rest > ProgramInput.MaxChoices)
        {
            canonical = false;
            rest = ProgramInput.MaxChoices;
        }
        if (rest > 0) b.Slice(pos, rest).CopyTo(Choices);
        ChoiceCount = Math.Max(rest, 0);
        return canonical;
    }

    private uint Reduce(uint packed, int d0)
    {
        uint reduced = 0;
        for (int a = 0; a < ProgramInput.MaxArgs; a++)
            reduced |= (uint)((int)((packed >> (8 * a)) & 0xff) % _shapes.Domain[d0 + a]) << (8 * a);
        return reduced;
    }

    public static OpCall Make(int thread, int op, uint packedArgs) =>
        new((byte)thread, (byte)op, (byte)packedArgs, (byte)(packedArgs >> 8), (byte)(packedArgs >> 16), (byte)(packedArgs >> 24));

    private static uint Packed(in OpCall op) => op.A0 | ((uint)op.A1 << 8) | ((uint)op.A2 << 16) | ((uint)op.A3 << 24);

    /// <summary>The canonical encoding, in a buffer that the next call overwrites.</summary>
    public ReadOnlySpan<byte> Encode()
    {
        var dst = _encoded;
        dst[0] = ProgramInput.CurrentVersion;
        dst[1] = (byte)(((Threads - 1) & 3) | ((Config & 0x3f) << 2));
        dst[2] = (byte)OpCount;
        int pos = ProgramInput.HeaderBytes;
        int[] argCount = _shapes.ArgCount;
        var ops = Ops;
        for (int i = 0; i < OpCount; i++)
        {
            ref readonly var op = ref ops[i];
            dst[pos] = (byte)((op.Op << 2) | (op.Thread & 3));
            // Unused argument bytes are zero and the next record or the choices overwrite them.
            BinaryPrimitives.WriteUInt32LittleEndian(dst.AsSpan(pos + 1), Packed(op));
            pos += 1 + argCount[op.Op];
        }
        Choices.AsSpan(0, ChoiceCount).CopyTo(dst.AsSpan(pos));
        return dst.AsSpan(0, pos + ChoiceCount);
    }

    /// <summary>The program held, as <see cref="ProgramCodec.Decode"/> of <see cref="Encode"/> gives it.</summary>
    public ProgramInput ToProgram() =>
        new(Threads, Config, Ops.AsSpan(0, OpCount).ToArray(), Choices.AsSpan(0, ChoiceCount).ToArray());

    public void InsertOp(int at, OpCall op)
    {
        Array.Copy(Ops, at, Ops, at + 1, OpCount - at);
        Ops[at] = op;
        OpCount++;
    }

    public void RemoveOp(int at)
    {
        Array.Copy(Ops, at + 1, Ops, at, OpCount - at - 1);
        OpCount--;
    }

    public void InsertChoice(int at, byte b)
    {
        Array.Copy(Choices, at, Choices, at + 1, ChoiceCount - at);
        Choices[at] = b;
        ChoiceCount++;
    }
}
