namespace Fuzz.Engine.Input;

/// <summary>One operation call: which thread runs it, which operation, and its (reduced) arguments.</summary>
public readonly record struct OpCall(byte Thread, byte Op, byte A0, byte A1, byte A2, byte A3)
{
    public byte Arg(int i) => i switch { 0 => A0, 1 => A1, 2 => A2, _ => A3 };
}

/// <summary>A decoded program: configuration, threads of operations, and the choice stream.</summary>
public sealed class ProgramInput
{
    public const byte CurrentVersion = 1;
    public const int MaxArgs = 4;
    public const int MaxOps = 48;
    public const int MaxChoices = 4096;
    public const int HeaderBytes = 3;
    public const int MaxEncodedBytes = HeaderBytes + MaxOps * (1 + MaxArgs) + MaxChoices;

    public ProgramInput(int threads, byte config, OpCall[] ops, byte[] choices)
    {
        Threads = threads;
        Config = config;
        Ops = ops;
        Choices = choices;
    }

    public int Threads { get; }

    /// <summary>Target configuration bits (six bits; meaning defined by the target).</summary>
    public byte Config { get; }
    public OpCall[] Ops { get; }
    public byte[] Choices { get; }

    /// <summary>Threads that have at least one operation.</summary>
    public int ActiveThreads
    {
        get
        {
            ulong seen = 0;
            foreach (var op in Ops) seen |= 1UL << (op.Thread & 63);
            return System.Numerics.BitOperations.PopCount(seen);
        }
    }

    public ProgramInput WithChoices(byte[] choices) => new(Threads, Config, Ops, choices);
}
