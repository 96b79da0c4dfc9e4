using Fuzz.Engine.Memory;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Locks;

/// <summary>
/// A reader-writer spinlock in one simulated word (bit 0 = writer, readers counted from bit 1).
/// A contender blocks until the word changes instead of burning steps.
/// </summary>
public sealed class RwLock
{
    public const ulong Writer = 1;
    public const ulong Reader = 2;

    private readonly Machine _machine;
    private int _lastReleaser = -1;

    public RwLock(Machine machine, ulong addr)
    {
        _machine = machine;
        Addr = addr;
    }

    public ulong Addr { get; }

    /// <summary>Actor holding the lock for write, or -1.</summary>
    public int WriteHolder { get; private set; } = -1;
    public long AcquiredAtStep { get; private set; }

    /// <summary>The write holder's own step count when it took the lock (a descheduled holder makes no progress).</summary>
    public long AcquiredAtOwnStep { get; private set; }

    public void Reset()
    {
        WriteHolder = -1;
        _lastReleaser = -1;
    }

    public bool IsWriteHeldBy(Actor a) => WriteHolder == a.Id;

    /// <summary>True when another actor is spinning on the lock (rwlock_needbreak).</summary>
    public bool Contended => _machine.WaitersOn(Addr) > 0;

    public Co WriteLock(Actor self)
    {
        var mem = _machine.Memory;
        yield return null;
        while (true)
        {
            ulong v = mem.Read(Addr);
            if (v == 0)
            {
                mem.Write(Addr, Writer);
                WriteHolder = self.Id;
                AcquiredAtStep = _machine.Step;
                AcquiredAtOwnStep = self.Steps;
                if (_lastReleaser >= 0 && _lastReleaser != self.Id) _machine.Event(1, Addr, _lastReleaser);
                yield break;
            }
            self.WaitWhileEquals(Addr, v);
            yield return null;
        }
    }

    /// <summary>Releases a write hold; the caller has passed a scheduling point.</summary>
    public void WriteUnlock(Actor self)
    {
        _machine.Memory.Write(Addr, 0);
        WriteHolder = -1;
        _lastReleaser = self.Id;
    }

    public Co ReadLock(Actor self)
    {
        var mem = _machine.Memory;
        yield return null;
        while (true)
        {
            ulong v = mem.Read(Addr);
            if ((v & Writer) == 0)
            {
                mem.Write(Addr, v + Reader);
                yield break;
            }
            self.WaitWhileEquals(Addr, v);
            yield return null;
        }
    }

    public void ReadUnlock() => _machine.Memory.FetchAdd(Addr, -(long)Reader);
}
