namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// An input kept because it added features; <paramref name="Features"/> are the ids it added where
/// it was found (what another process needs to merge it without running it).
/// </summary>
public sealed record CorpusEntry(string Name, byte[] Data, int NewFeatures, long FoundAtExec, uint[] Features);

/// <summary>
/// The in-memory corpus every fuzz loop picks from. Appends take a lock and grow the array by
/// doubling; a reader takes the array and the count it may read, so picking costs no lock.
/// </summary>
public sealed class SharedCorpus
{
    private sealed record View(CorpusEntry[] Entries, int Count);

    private View _view = new(new CorpusEntry[64], 0);
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public int Count => Volatile.Read(ref _view).Count;

    public ReadOnlySpan<CorpusEntry> Snapshot
    {
        get
        {
            var v = Volatile.Read(ref _view);
            return v.Entries.AsSpan(0, v.Count);
        }
    }

    /// <summary>False when an input with the same name is already there.</summary>
    public bool Add(CorpusEntry e)
    {
        lock (_lock)
        {
            if (!_names.Add(e.Name)) return false;
            var v = _view;
            var entries = v.Entries;
            if (v.Count == entries.Length) Array.Resize(ref entries, entries.Length * 2);
            entries[v.Count] = e;
            Volatile.Write(ref _view, new View(entries, v.Count + 1));
            return true;
        }
    }
}
