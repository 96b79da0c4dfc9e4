namespace Fuzz.Engine.Fuzzing;

/// <summary>An input kept because it added features.</summary>
public sealed record CorpusEntry(string Name, byte[] Data, int NewFeatures, long FoundAtExec);

/// <summary>
/// The in-memory corpus every fuzz loop picks from. Appends are rare and take a lock; readers see an
/// immutable snapshot, so picking costs no lock.
/// </summary>
public sealed class SharedCorpus
{
    private CorpusEntry[] _entries = [];
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public int Count => Volatile.Read(ref _entries).Length;

    public CorpusEntry[] Snapshot => Volatile.Read(ref _entries);

    /// <summary>False when an input with the same name is already there.</summary>
    public bool Add(CorpusEntry e)
    {
        lock (_lock)
        {
            if (!_names.Add(e.Name)) return false;
            var next = new CorpusEntry[_entries.Length + 1];
            _entries.CopyTo(next, 0);
            next[^1] = e;
            Volatile.Write(ref _entries, next);
            return true;
        }
    }
}
