using Fuzz.Engine.Memory;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Locks;

/// <summary>
/// Sleepable RCU with two reader counters and an index, in three simulated words
/// (idx, c[0], c[1]). synchronize() drains the inactive counter, flips, and waits for the old one,
/// so every reader that started before it has finished when it returns. Updaters are serialised by
/// their caller (kvm->slots_lock), as in the kernel.
/// </summary>
public sealed class Srcu
{
    private readonly SimMemory _mem;
    private readonly ulong _idx;

    public Srcu(SimMemory mem, ulong idxAddr)
    {
        _mem = mem;
        _idx = idxAddr;
    }

    private ulong Counter(ulong i) => _idx + 8 + (i << 3);

    /// <summary>srcu_read_lock; one atomic step, taken after the caller's scheduling point.</summary>
    public int ReadLock()
    {
        ulong i = _mem.Read(_idx) & 1;
        _mem.FetchAdd(Counter(i), 1);
        return (int)i;
    }

    public void ReadUnlock(int idx) => _mem.FetchAdd(Counter((ulong)idx), -1);

    public Co Synchronize(Actor self)
    {
        yield return null;
        ulong cur = _mem.Read(_idx) & 1;
        if (_mem.Read(Counter(cur ^ 1)) != 0)
        {
            self.WaitUntilEquals(Counter(cur ^ 1), 0);
            yield return null;
        }
        _mem.Write(_idx, cur ^ 1);
        yield return null;
        if (_mem.Read(Counter(cur)) != 0)
        {
            self.WaitUntilEquals(Counter(cur), 0);
            yield return null;
        }
    }
}
