namespace Fuzz.Targets.Mmu;

internal struct TlbEntry
{
    public int Alias;
    public ulong Gfn;
    public ulong Pfn;
    public bool Writable;
    public bool Dirty;
}

/// <summary>A vCPU's TLB: translations it has used, keyed by (alias, gfn). A remote flush empties it.</summary>
internal sealed class Tlb
{
    private readonly TlbEntry[] _entries = new TlbEntry[Vcpu.TlbEntries];
    private int _count;
    private int _next;

    public int Count => _count;
    public ref TlbEntry this[int i] => ref _entries[i];

    public void Clear()
    {
        _count = 0;
        _next = 0;
    }

    public int Find(int alias, ulong gfn)
    {
        for (int i = 0; i < _count; i++)
            if (_entries[i].Alias == alias && _entries[i].Gfn == gfn) return i;
        return -1;
    }

    /// <summary>Fills an entry, replacing the one for the same translation or evicting round-robin.</summary>
    public void Fill(in TlbEntry e)
    {
        int i = Find(e.Alias, e.Gfn);
        if (i < 0)
        {
            if (_count < _entries.Length) i = _count++;
            else
            {
                i = _next;
                _next = (_next + 1) % _entries.Length;
            }
        }
        _entries[i] = e;
    }
}
