using Fuzz.Engine.Input;

namespace Fuzz.Engine.Mutation;

/// <summary>A vocabulary flattened into arrays: argument counts, domains, and which arguments can take two or more values.</summary>
internal sealed class OpShapes
{
    public OpShapes(Vocabulary vocab)
    {
        OpKinds = vocab.Ops.Count;
        MaxThreads = vocab.MaxThreads;
        ArgCount = new int[OpKinds];
        Domain = new int[OpKinds * ProgramInput.MaxArgs];
        Array.Fill(Domain, 256);
        MutableCount = new int[OpKinds];
        MutableArgs = new int[OpKinds * ProgramInput.MaxArgs];
        for (int op = 0; op < OpKinds; op++)
        {
            var args = vocab.Ops[op].Args;
            ArgCount[op] = args.Length;
            for (int a = 0; a < args.Length; a++)
            {
                Domain[op * ProgramInput.MaxArgs + a] = args[a].Domain;
                if (args[a].Domain >= 2) MutableArgs[op * ProgramInput.MaxArgs + MutableCount[op]++] = a;
            }
        }
    }

    public int OpKinds { get; }
    public int MaxThreads { get; }
    public int[] ArgCount { get; }

    /// <summary>Indexed by op * MaxArgs + argument; 256 past an operation's last argument.</summary>
    public int[] Domain { get; }
    public int[] MutableCount { get; }

    /// <summary>Indexed by op * MaxArgs + k: the k-th argument of op whose domain has two or more values.</summary>
    public int[] MutableArgs { get; }
}
