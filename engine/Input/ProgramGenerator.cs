using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Input;

/// <summary>Random programs over a vocabulary, from a seed (for soak runs, benchmarks and tests).</summary>
public static class ProgramGenerator
{
    public static ProgramInput Random(Vocabulary vocab, ulong seed, int ops, int choices)
    {
        var rng = new SplitMix64(seed);
        int threads = 1 + rng.Below(vocab.MaxThreads);
        var calls = new OpCall[ops];
        for (int i = 0; i < ops; i++)
        {
            int op = rng.Below(vocab.Ops.Count);
            var args = new byte[ProgramInput.MaxArgs];
            for (int a = 0; a < vocab.Ops[op].Args.Length; a++) args[a] = (byte)rng.Below(vocab.Ops[op].Args[a].Domain);
            calls[i] = new OpCall((byte)rng.Below(threads), (byte)op, args[0], args[1], args[2], args[3]);
        }
        var stream = new byte[choices];
        for (int i = 0; i < choices; i++) stream[i] = (byte)rng.Next();
        return new ProgramInput(threads, (byte)rng.Below(64), calls, stream);
    }
}
