using Fuzz.Engine.Input;
using Fuzz.Engine.Mutation;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// Coverage-guided inputs: a corpus program mutated, spliced with another; or, while the corpus is
/// empty and then for the share <see cref="FreshShare"/> gives, a fresh random program on a random
/// choice stream (a fresh program with no stream would run each thread to its end before the next:
/// no interleaving to learn from).
/// </summary>
internal sealed class CorpusMutation : IInputSource
{
    private readonly SharedCorpus _corpus;
    private readonly Vocabulary _vocab;
    private readonly ProgramMutator _mutator;
    private readonly FuzzOptions _options;
    private readonly List<MutationKind> _applied = new(8);
    private FreshShare _share = FreshShare.Start;
    private bool _lastFresh;

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
        _lastFresh = corpus.Length == 0 || (rng.Next() >> 11) * (1.0 / (1UL << 53)) < _share.Fresh;
        if (_lastFresh)
            return ProgramGenerator.Random(_vocab, rng.Next(), _options.GeneratedOps, ProgramInput.MaxChoices);
        var pick = corpus[PickIndex(corpus.Length, ref rng)];
        return _mutator.MutateStacked(pick, corpus[rng.Below(corpus.Length)], ref rng, _options.MaxMutations, _applied);
    }

    public void Observed(int added) => _share.Record(_lastFresh, added > 0);

    /// <summary>Recent entries are picked more often: they are where the frontier is.</summary>
    private static int PickIndex(int n, ref SplitMix64 rng)
    {
        if (n > 16 && rng.Below(4) == 0) return n - 1 - rng.Below(16);
        return rng.Below(n);
    }
}
