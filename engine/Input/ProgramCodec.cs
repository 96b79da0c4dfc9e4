namespace Fuzz.Engine.Input;

/// <summary>
/// The binary program format (version 1, described in corpus/README.md). Decoding is total: any
/// byte string gives a valid program (missing bytes read as zero, values are reduced into their
/// domains, bytes past the size caps are ignored), and encode(decode(b)) is a fixed point.
/// </summary>
public sealed class ProgramCodec
{
    private readonly Vocabulary _vocab;

    // The vocabulary flattened: argument counts, and domains indexed by op * MaxArgs + argument.
    private readonly int[] _argCount;
    private readonly int[] _domain;

    public ProgramCodec(Vocabulary vocab)
    {
        _vocab = vocab;
        _argCount = vocab.Ops.Select(o => o.Args.Length).ToArray();
        _domain = new int[vocab.Ops.Count * ProgramInput.MaxArgs];
        for (int op = 0; op < vocab.Ops.Count; op++)
            for (int a = 0; a < vocab.Ops[op].Args.Length; a++) _domain[op * ProgramInput.MaxArgs + a] = vocab.Ops[op].Args[a].Domain;
    }

    public ProgramInput Decode(ReadOnlySpan<byte> b)
    {
        int pos = 1;
        byte Next(ReadOnlySpan<byte> s) => pos < s.Length ? s[pos++] : (byte)(pos++ * 0);

        byte shape = Next(b);
        int threads = (shape & 3) % _vocab.MaxThreads + 1;
        byte config = (byte)(shape >> 2);
        int count = Next(b) % (ProgramInput.MaxOps + 1);
        var ops = new OpCall[count];
        int kinds = _argCount.Length;
        Span<byte> args = stackalloc byte[ProgramInput.MaxArgs];
        for (int i = 0; i < count; i++)
        {
            byte tag = Next(b);
            int op = tag >> 2, thread = tag & 3;
            // Values already in their domains (every canonical input) need no division.
            if (op >= kinds) op %= kinds;
            if (thread >= threads) thread %= threads;
            args.Clear();
            for (int a = 0, n = _argCount[op]; a < n; a++)
            {
                int v = Next(b), domain = _domain[op * ProgramInput.MaxArgs + a];
                args[a] = (byte)(v < domain ? v : v % domain);
            }
            ops[i] = new OpCall((byte)thread, (byte)op, args[0], args[1], args[2], args[3]);
        }
        int rest = Math.Clamp(b.Length - pos, 0, ProgramInput.MaxChoices);
        var choices = rest > 0 ? b.Slice(pos, rest).ToArray() : [];
        return new ProgramInput(threads, config, ops, choices);
    }

    public byte[] Encode(ProgramInput p)
    {
        var outp = new List<byte>(ProgramInput.HeaderBytes + p.Ops.Length * 5 + p.Choices.Length)
        {
            ProgramInput.CurrentVersion,
            (byte)(((p.Threads - 1) & 3) | ((p.Config & 0x3f) << 2)),
            (byte)p.Ops.Length,
        };
        foreach (var op in p.Ops)
        {
            outp.Add((byte)((op.Op << 2) | (op.Thread & 3)));
            for (int a = 0; a < _vocab.Ops[op.Op].Args.Length; a++) outp.Add(op.Arg(a));
        }
        outp.AddRange(p.Choices.AsSpan(0, Math.Min(p.Choices.Length, ProgramInput.MaxChoices)));
        return outp.ToArray();
    }

    public string Describe(ProgramInput p)
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"threads: {p.Threads}  config: 0x{p.Config:x2}  ops: {p.Ops.Length}  choices: {p.Choices.Length}");
        foreach (var op in p.Ops)
        {
            var spec = _vocab.Ops[op.Op];
            var args = string.Join(", ", spec.Args.Select((a, i) => $"{a.Name}={op.Arg(i)}"));
            sb.AppendLine($"  T{op.Thread}: {spec.Name}({args})");
        }
        return sb.ToString();
    }
}
