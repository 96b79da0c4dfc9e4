namespace Fuzz.Engine.Input;

/// <summary>One operation of a target's vocabulary: a name and small argument domains.</summary>
public sealed record OpSpec(string Name, string Description, params ArgSpec[] Args);

public sealed record ArgSpec(string Name, int Domain)
{
    public override string ToString() => $"{Name}:0..{Domain - 1}";
}

/// <summary>What a target accepts: its operations, thread limit and configuration bits.</summary>
public sealed class Vocabulary
{
    public Vocabulary(IReadOnlyList<OpSpec> ops, int maxThreads)
    {
        if (ops.Count is 0 or > 64) throw new ArgumentException("a vocabulary has 1..64 operations");
        if (maxThreads is < 1 or > 4) throw new ArgumentException("1..4 threads");
        foreach (var op in ops)
            if (op.Args.Length > ProgramInput.MaxArgs || op.Args.Any(a => a.Domain is < 1 or > 256))
                throw new ArgumentException($"bad argument spec in {op.Name}");
        Ops = ops;
        MaxThreads = maxThreads;
    }

    public IReadOnlyList<OpSpec> Ops { get; }
    public int MaxThreads { get; }
}
