using Fuzz.Engine.Input;
using Fuzz.Engine.Mutation;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// Coverage-guided inputs: a corpus program mutated, spliced with another; one in 64, or while the
/// corpus is empty, a fresh random program.
/// </summary>
internal sealed class CorpusMutation : IInputSource
{
    private readonly SharedCorpus _corpus;
    private readonly Vocabulary _vocab;
    private readonly ProgramMutator _mutator;
    private readonly FuzzOptions _options;
    private readonly List<MutationKind> _applied = new(8);

    public CorpusMutation(SharedCorpus corpus, Vocabulary vocab, FuzzOptions options)
    {
        _corpus = corpus;
        _vocab = vocab;
        _options = options;
        _mutator = new ProgramMutator(vocab) { MaxOps = Math.Clamp(options.MaxOps, 1, ProgramInput.MaxOps) };
    }

    public ProgramInput Next(ref SplitMix64 rng)
    {
        var corpus = _corpus.Inputs;
        if (corpus.Length == 0 || rng.Below(64) == 0)
            return ProgramGenerator.Random(_vocab, rng.Next(), 1 + rng.Below(_options.GeneratedOps), 0);
        var pick = corpus[PickIndex(corpus.Length, ref rng)];
        return _mutator.MutateStacked(pick, corpus[rng.Below(corpus.Length)], ref rng, _options.MaxMutations, _applied);
    }

    /// <summary>Recent entries are picked more often: they are where the frontier is.</summary>
    private static int PickIndex(int n, ref SplitMix64 rng)
    {
        if (n > 16 && rng.Below(4) == 0) return n - 1 - rng.Below(16);
        return rng.Below(n);
    }
}
