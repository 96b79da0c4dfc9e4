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
    // The inputs' bytes are also kept in an array of their own: picking an input to mutate then
    // reads one object fewer, scattered among thousands of entries.
    private sealed record View(CorpusEntry[] Entries, byte[][] Inputs, int Count);

    private View _view = new(new CorpusEntry[64], new byte[64][], 0);
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

    /// <summary>The bytes of each entry of <see cref="Snapshot"/>, in the same order.</summary>
    public ReadOnlySpan<byte[]> Inputs
    {
        get
        {
            var v = Volatile.Read(ref _view);
            return v.Inputs.AsSpan(0, v.Count);
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
            var inputs = v.Inputs;
            if (v.Count == entries.Length)
            {
                Array.Resize(ref entries, entries.Length * 2);
                Array.Resize(ref inputs, inputs.Length * 2);
            }
            entries[v.Count] = e;
            inputs[v.Count] = e.Data;
            Volatile.Write(ref _view, new View(entries, inputs, v.Count + 1));
            return true;
        }
    }
}
