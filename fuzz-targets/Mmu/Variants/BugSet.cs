namespace Fuzz.Targets.Mmu;

/// <summary>Which variants are on for a run: one bit per <see cref="BugVariant.Index"/>, so a check is a mask test.</summary>
public sealed class BugSet
{
    private readonly uint _on;

    public BugSet(IEnumerable<string> ids)
    {
        foreach (var id in ids)
        {
            var bug = Bugs.Find(id) ?? throw new ArgumentException($"unknown bug variant '{id}' (see `fuzz targets`)");
            _on |= 1u << bug.Index;
        }
    }

    public static readonly BugSet None = new([]);

    public bool Has(BugVariant bug) => (_on & (1u << bug.Index)) != 0;

    public IEnumerable<string> Ids => Bugs.All.Where(Has).Select(b => b.Id).Order(StringComparer.Ordinal);
}
