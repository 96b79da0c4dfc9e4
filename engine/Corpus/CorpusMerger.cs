using Fuzz.Engine.Feedback;
using Fuzz.Engine.Fuzzing;

namespace Fuzz.Engine.Corpus;

public sealed record MergeResult(IReadOnlyList<byte[]> Added, int Features, int CandidateFeatures, int Crashing);

/// <summary>
/// libFuzzer's -merge=1: the inputs already kept define the starting feature set; candidates are
/// tried from the smallest up and kept only if they add a feature. The kept set covers every
/// feature of the union.
/// </summary>
public sealed class CorpusMerger
{
    private readonly InstrumentedTarget _instrumented;

    public CorpusMerger(ITargetFactory factory, string target, IReadOnlyCollection<string> bugs) =>
        _instrumented = new InstrumentedTarget(factory, target, bugs);

    /// <summary>The features one input covers, or null if it breaks an invariant.</summary>
    public uint[]? FeaturesOf(ReadOnlySpan<byte> data)
    {
        var r = _instrumented.Execute(_instrumented.Target.Codec.Decode(data));
        if (r.Violation is null) return _instrumented.Features();
        _instrumented.Read();
        return null;
    }

    public MergeResult Merge(IEnumerable<byte[]> existing, IEnumerable<byte[]> candidates)
    {
        var kept = new FeatureSet();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = existing.ToList();
        if (list.Count > 0) FeaturesOf(list[0]);
        foreach (var e in list)
        {
            seen.Add(CorpusStore.NameOf(e));
            if (FeaturesOf(e) is { } f) kept.Add(f);
        }
        var sorted = candidates.Select(c => (Name: CorpusStore.NameOf(c), Data: c)).Where(c => seen.Add(c.Name))
            .OrderBy(c => c.Data.Length).ThenBy(c => c.Name, StringComparer.Ordinal).ToList();
        if (sorted.Count > 0) FeaturesOf(sorted[0].Data);
        var all = new FeatureSet();
        var added = new List<byte[]>();
        int crashing = 0;
        foreach (var (_, data) in sorted)
        {
            var f = FeaturesOf(data);
            if (f is null) { crashing++; continue; }
            all.Add(f);
            if (kept.Add(f) > 0) added.Add(data);
        }
        return new MergeResult(added, kept.Features, all.Features, crashing);
    }
}
