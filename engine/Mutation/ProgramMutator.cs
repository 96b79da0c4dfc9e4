using System.Diagnostics.CodeAnalysis;
using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Mutation;

/// <summary>
/// Structure-aware mutation of encoded programs: every mutation works on the decoded program
/// (operations, threads, configuration, choice stream) and the result is always a canonical
/// encoding within the format's caps. Deterministic in (input, splice, rng state). One instance per
/// fuzz-loop thread: it reuses its buffers and is not thread-safe.
/// </summary>
public sealed class ProgramMutator
{
    private const int AttemptsPerStep = 16;
    private const int ChoiceExtendMax = 32;
    private const int ShiftDistanceMax = 3;
    private const int HavocStepsMax = 8;

    /// <summary>Residues mod 2, 3 and 4 all repeat every 12, so 0..11 reaches every pick among up to four runnable actors.</summary>
    private const int SmallChoiceValues = 12;

    /// <summary>Relative frequency of each kind: operation and choice-stream edits dominate, havoc is rare.</summary>
    public static IReadOnlyList<(MutationKind Kind, int Weight)> Weights { get; } =
    [
        (MutationKind.InsertOp, 9),
        (MutationKind.DeleteOp, 7),
        (MutationKind.DuplicateOp, 4),
        (MutationKind.SwapOps, 5),
        (MutationKind.ChangeArg, 14),
        (MutationKind.MoveOpToThread, 6),
        (MutationKind.ChangeThreads, 2),
        (MutationKind.Splice, 5),
        (MutationKind.ChoiceFlip, 14),
        (MutationKind.ChoiceInsertPreemption, 9),
        (MutationKind.ChoiceShiftSwitch, 9),
        (MutationKind.ChoiceTruncate, 4),
        (MutationKind.ChoiceExtend, 7),
        (MutationKind.ChangeConfig, 2),
        (MutationKind.Havoc, 3),
    ];

    private static readonly MutationKind[] KindTable = BuildKindTable();

    private readonly OpShapes _shapes;
    private readonly ProgramBuffer _program;
    private readonly ProgramBuffer _splice;
    private readonly byte[] _original = new byte[ProgramInput.MaxEncodedBytes];
    private readonly byte[] _havoc = new byte[ProgramInput.MaxEncodedBytes + 64];

    public ProgramMutator(Vocabulary vocab)
    {
        Codec = new ProgramCodec(vocab);
        _shapes = new OpShapes(vocab);
        _program = new ProgramBuffer(_shapes);
        _splice = new ProgramBuffer(_shapes);
    }

    public ProgramCodec Codec { get; }

    /// <summary>Operations a mutation may grow a program to (libFuzzer's -max_len, in operations).</summary>
    public int MaxOps { get; init; } = ProgramInput.MaxOps;

    /// <summary>
    /// One mutation. The result is canonical and differs from the canonical form of
    /// <paramref name="input"/>. <paramref name="splice"/> is another corpus input, or empty when
    /// there is none.
    /// </summary>
    public byte[] Mutate(ReadOnlySpan<byte> input, ReadOnlySpan<byte> splice, ref SplitMix64 rng, out MutationKind kind)
    {
        Run(input, splice, ref rng, 1, null, out kind);
        return _program.Encode().ToArray();
    }

    /// <summary>
    /// 1..<paramref name="maxStack"/> mutations applied in sequence, each kind appended to
    /// <paramref name="applied"/> (which is cleared first). The result is the program the mutations
    /// built, as decoding its canonical encoding gives it, and it differs from the canonical form of
    /// <paramref name="input"/>: a fuzz loop runs it without decoding and encodes it only to keep it.
    /// </summary>
    public ProgramInput MutateStacked(ReadOnlySpan<byte> input, ReadOnlySpan<byte> splice, ref SplitMix64 rng, int maxStack, List<MutationKind> applied)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStack, 1);
        applied.Clear();
        Run(input, splice, ref rng, 1 + rng.Below(maxStack), applied, out _);
        return _program.ToProgram();
    }

    /// <summary>
    /// Applies one given kind. False when it cannot apply to this input (say, DeleteOp on a program
    /// without operations, Splice without a splice input) or left the program as it was.
    /// </summary>
    public bool TryMutate(MutationKind kind, ReadOnlySpan<byte> input, ReadOnlySpan<byte> splice, ref SplitMix64 rng, [NotNullWhen(true)] out byte[]? result)
    {
        result = null;
        var original = LoadOriginal(input);
        if (!Apply(kind, splice, ref rng)) return false;
        var encoded = _program.Encode();
        if (encoded.SequenceEqual(original)) return false;
        result = encoded.ToArray();
        return true;
    }

    /// <summary>The canonical encoding of <paramref name="input"/> (what Encode(Decode(input)) gives).</summary>
    public byte[] Canonicalize(ReadOnlySpan<byte> input)
    {
        _program.Load(input);
        return _program.Encode().ToArray();
    }

    /// <summary>Leaves the mutated program in <see cref="_program"/>.</summary>
    private void Run(ReadOnlySpan<byte> input, ReadOnlySpan<byte> splice, ref SplitMix64 rng, int steps, List<MutationKind>? applied, out MutationKind kind)
    {
        var original = LoadOriginal(input);
        for (int s = 0; s < steps - 1; s++)
        {
            kind = ApplyAny(splice, ref rng);
            applied?.Add(kind);
        }
        for (int attempt = 0; ; attempt++)
        {
            // After that many attempts the program is the original again, which a flipped config bit is sure to change.
            kind = attempt < AttemptsPerStep ? ApplyAny(splice, ref rng) : FlipConfigBit(ref rng);
            applied?.Add(kind);
            // Havoc and splices of longer programs can land beyond the cap; the tail goes.
            if (_program.OpCount > MaxOps) _program.OpCount = MaxOps;
            var encoded = _program.Encode();
            if (!encoded.SequenceEqual(original)) return;
            // Equal bytes mean the buffer holds the original program again: retry from there.
            applied?.Clear();
        }
    }

    private ReadOnlySpan<byte> LoadOriginal(ReadOnlySpan<byte> input)
    {
        if (_program.Load(input)) return input;
        var encoded = _program.Encode();
        encoded.CopyTo(_original);
        return _original.AsSpan(0, encoded.Length);
    }

    private MutationKind ApplyAny(ReadOnlySpan<byte> splice, ref SplitMix64 rng)
    {
        for (int i = 0; i < AttemptsPerStep; i++)
        {
            var kind = KindTable[rng.Below(KindTable.Length)];
            if (Apply(kind, splice, ref rng)) return kind;
        }
        return FlipConfigBit(ref rng);
    }

    private MutationKind FlipConfigBit(ref SplitMix64 rng)
    {
        ChangeConfig(ref rng);
        return MutationKind.ChangeConfig;
    }

    /// <summary>Applies one kind to the loaded program; false (and the program untouched) when it does not apply.</summary>
    private bool Apply(MutationKind kind, ReadOnlySpan<byte> splice, ref SplitMix64 rng) => kind switch
    {
        MutationKind.InsertOp => InsertOp(ref rng),
        MutationKind.DeleteOp => DeleteOp(ref rng),
        MutationKind.DuplicateOp => DuplicateOp(ref rng),
        MutationKind.SwapOps => SwapOps(ref rng),
        MutationKind.ChangeArg => ChangeArg(ref rng),
        MutationKind.MoveOpToThread => MoveOpToThread(ref rng),
        MutationKind.ChangeThreads => ChangeThreads(ref rng),
        MutationKind.Splice => Splice(splice, ref rng),
        MutationKind.ChoiceFlip => ChoiceFlip(ref rng),
        MutationKind.ChoiceInsertPreemption => ChoiceInsertPreemption(ref rng),
        MutationKind.ChoiceShiftSwitch => ChoiceShiftSwitch(ref rng),
        MutationKind.ChoiceTruncate => ChoiceTruncate(ref rng),
        MutationKind.ChoiceExtend => ChoiceExtend(ref rng),
        MutationKind.ChangeConfig => ChangeConfig(ref rng),
        MutationKind.Havoc => Havoc(ref rng),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private bool InsertOp(ref SplitMix64 rng)
    {
        if (_program.OpCount >= MaxOps) return false;
        int at = rng.Below(_program.OpCount + 1);
        _program.InsertOp(at, RandomOp(ref rng, _program.Threads));
        return true;
    }

    private OpCall RandomOp(ref SplitMix64 rng, int threads)
    {
        int thread = rng.Below(threads);
        int op = rng.Below(_shapes.OpKinds);
        uint packed = 0;
        int n = _shapes.ArgCount[op], d0 = op * ProgramInput.MaxArgs;
        for (int a = 0; a < n; a++) packed |= (uint)rng.Below(_shapes.Domain[d0 + a]) << (8 * a);
        return ProgramBuffer.Make(thread, op, packed);
    }

    private bool DeleteOp(ref SplitMix64 rng)
    {
        if (_program.OpCount == 0) return false;
        _program.RemoveOp(rng.Below(_program.OpCount));
        return true;
    }

    private bool DuplicateOp(ref SplitMix64 rng)
    {
        if (_program.OpCount == 0 || _program.OpCount >= MaxOps) return false;
        var op = _program.Ops[rng.Below(_program.OpCount)];
        _program.InsertOp(rng.Below(_program.OpCount + 1), op);
        return true;
    }

    private bool SwapOps(ref SplitMix64 rng)
    {
        int n = _program.OpCount;
        if (n < 2) return false;
        var ops = _program.Ops;
        for (int t = 0; t < 8; t++)
        {
            int i = rng.Below(n), j = rng.Below(n - 1);
            if (j >= i) j++;
            if (ops[i] == ops[j]) continue;
            (ops[i], ops[j]) = (ops[j], ops[i]);
            return true;
        }
        return false;
    }

    private bool ChangeArg(ref SplitMix64 rng)
    {
        int n = _program.OpCount;
        if (n == 0) return false;
        var ops = _program.Ops;
        int i = -1;
        for (int t = 0; t < 4 && i < 0; t++)
        {
            int c = rng.Below(n);
            if (_shapes.MutableCount[ops[c].Op] > 0) i = c;
        }
        if (i < 0)
        {
            int start = rng.Below(n);
            for (int k = 0; k < n && i < 0; k++)
            {
                int c = (start + k) % n;
                if (_shapes.MutableCount[ops[c].Op] > 0) i = c;
            }
            if (i < 0) return false;
        }
        var call = ops[i];
        int d0 = call.Op * ProgramInput.MaxArgs;
        int a = _shapes.MutableArgs[d0 + rng.Below(_shapes.MutableCount[call.Op])];
        int d = _shapes.Domain[d0 + a], v = call.Arg(a);
        int nv = rng.Below(2) == 0
            ? (rng.Below(2) == 0 ? v + 1 : v - 1 + d) % d
            : (v + 1 + rng.Below(d - 1)) % d;
        ops[i] = a switch
        {
            0 => call with { A0 = (byte)nv },
            1 => call with { A1 = (byte)nv },
            2 => call with { A2 = (byte)nv },
            _ => call with { A3 = (byte)nv },
        };
        return true;
    }

    private bool MoveOpToThread(ref SplitMix64 rng)
    {
        int t = _program.Threads;
        if (t < 2 || _program.OpCount == 0) return false;
        int i = rng.Below(_program.OpCount);
        var call = _program.Ops[i];
        _program.Ops[i] = call with { Thread = (byte)((call.Thread + 1 + rng.Below(t - 1)) % t) };
        return true;
    }

    private bool ChangeThreads(ref SplitMix64 rng)
    {
        int max = _shapes.MaxThreads;
        if (max < 2) return false;
        int threads = (_program.Threads + rng.Below(max - 1)) % max + 1;
        _program.Threads = threads;
        var ops = _program.Ops;
        for (int i = 0; i < _program.OpCount; i++)
            if (ops[i].Thread >= threads) ops[i] = ops[i] with { Thread = (byte)(ops[i].Thread % threads) };
        return true;
    }

    /// <summary>
    /// Either operations crossed over (a prefix of this program's, a suffix of the other's, with the
    /// choice stream of one of them) or choice streams crossed over. The result has the larger of the
    /// two thread counts, so every operation keeps its thread.
    /// </summary>
    private bool Splice(ReadOnlySpan<byte> splice, ref SplitMix64 rng)
    {
        if (splice.IsEmpty) return false;
        var s = _splice;
        s.Load(splice);
        if (rng.Below(2) == 0)
        {
            int i = rng.Below(_program.OpCount + 1), j = rng.Below(s.OpCount + 1);
            int take = Math.Max(0, Math.Min(s.OpCount - j, MaxOps - i));
            Array.Copy(s.Ops, j, _program.Ops, i, take);
            _program.OpCount = i + take;
            if (rng.Below(2) == 0)
            {
                s.Choices.AsSpan(0, s.ChoiceCount).CopyTo(_program.Choices);
                _program.ChoiceCount = s.ChoiceCount;
            }
        }
        else
        {
            int i = rng.Below(_program.ChoiceCount + 1), j = rng.Below(s.ChoiceCount + 1);
            int take = Math.Min(s.ChoiceCount - j, ProgramInput.MaxChoices - i);
            s.Choices.AsSpan(j, take).CopyTo(_program.Choices.AsSpan(i));
            _program.ChoiceCount = i + take;
        }
        _program.Threads = Math.Max(_program.Threads, s.Threads);
        return true;
    }

    private bool ChoiceFlip(ref SplitMix64 rng)
    {
        if (_program.ChoiceCount == 0) return false;
        int at = rng.Below(_program.ChoiceCount);
        int old = _program.Choices[at], nv;
        if (rng.Below(2) == 0)
        {
            nv = rng.Below(SmallChoiceValues);
            if (nv == old) nv = (nv + 1) % SmallChoiceValues;
        }
        else nv = (old + 1 + rng.Below(255)) & 0xff;
        _program.Choices[at] = (byte)nv;
        return true;
    }

    private bool ChoiceInsertPreemption(ref SplitMix64 rng)
    {
        if (_program.ChoiceCount >= ProgramInput.MaxChoices) return false;
        int at = rng.Below(_program.ChoiceCount + 1);
        _program.InsertChoice(at, (byte)rng.Next());
        return true;
    }

    /// <summary>Moves one choice up to <see cref="ShiftDistanceMax"/> places earlier or later (distance one is an adjacent swap).</summary>
    private bool ChoiceShiftSwitch(ref SplitMix64 rng)
    {
        int n = _program.ChoiceCount;
        if (n < 2) return false;
        var c = _program.Choices;
        for (int t = 0; t < 8; t++)
        {
            int i = rng.Below(n);
            int dist = 1 + rng.Below(ShiftDistanceMax);
            int j = Math.Clamp(rng.Below(2) == 0 ? i - dist : i + dist, 0, n - 1);
            if (j == i) continue;
            int lo = Math.Min(i, j), hi = Math.Max(i, j);
            byte moved = c[i];
            bool uniform = true;
            for (int k = lo; k <= hi && uniform; k++) uniform = c[k] == moved;
            if (uniform) continue;
            if (j > i) Array.Copy(c, i + 1, c, i, j - i);
            else Array.Copy(c, j, c, j + 1, i - j);
            c[j] = moved;
            return true;
        }
        return false;
    }

    private bool ChoiceTruncate(ref SplitMix64 rng)
    {
        if (_program.ChoiceCount == 0) return false;
        _program.ChoiceCount = rng.Below(_program.ChoiceCount);
        return true;
    }

    private bool ChoiceExtend(ref SplitMix64 rng)
    {
        int room = ProgramInput.MaxChoices - _program.ChoiceCount;
        if (room <= 0) return false;
        int add = 1 + rng.Below(Math.Min(ChoiceExtendMax, room));
        var c = _program.Choices;
        for (int k = _program.ChoiceCount; k < _program.ChoiceCount + add; k++) c[k] = (byte)rng.Next();
        _program.ChoiceCount += add;
        return true;
    }

    private bool ChangeConfig(ref SplitMix64 rng)
    {
        _program.Config ^= (byte)(1 << rng.Below(6));
        return true;
    }

    /// <summary>Byte-level edits of the encoding, half of them aimed at the header and operations, then decoded back.</summary>
    private bool Havoc(ref SplitMix64 rng)
    {
        var buf = _havoc;
        var encoded = _program.Encode();
        encoded.CopyTo(buf);
        int len = encoded.Length;
        int structured = len - _program.ChoiceCount;
        int steps = 1 + rng.Below(HavocStepsMax);
        for (int s = 0; s < steps; s++)
        {
            int region = rng.Below(2) == 0 ? Math.Min(structured, len) : len;
            int edit = len == 0 ? 0 : rng.Below(6);
            if (edit == 0)
            {
                if (len == buf.Length) continue;
                int to = rng.Below(region + 1);
                Array.Copy(buf, to, buf, to + 1, len - to);
                buf[to] = (byte)rng.Next();
                len++;
                continue;
            }
            int at = rng.Below(region);
            switch (edit)
            {
                case 1: buf[at] = (byte)rng.Next(); break;
                case 2: buf[at] ^= (byte)(1 << rng.Below(8)); break;
                case 3: buf[at] += (byte)(1 + rng.Below(8)); break;
                case 4: buf[at] -= (byte)(1 + rng.Below(8)); break;
                default:
                    Array.Copy(buf, at + 1, buf, at, len - at - 1);
                    len--;
                    break;
            }
        }
        _program.Load(buf.AsSpan(0, len));
        return true;
    }

    private static MutationKind[] BuildKindTable()
    {
        int total = 0;
        foreach (var (_, w) in Weights) total += w;
        var table = new MutationKind[total];
        int k = 0;
        foreach (var (kind, w) in Weights)
            for (int i = 0; i < w; i++) table[k++] = kind;
        return table;
    }
}
