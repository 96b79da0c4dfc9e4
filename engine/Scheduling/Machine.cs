using System.Runtime.CompilerServices;
using Fuzz.Engine.Hashing;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Memory;
using Fuzz.Engine.Tracing;

namespace Fuzz.Engine.Scheduling;

/// <summary>
/// The deterministic machine: actors run one at a time between scheduling points; where two or
/// more can run, the strategy picks one and the pick is recorded as a byte of the choice stream.
/// Nothing here depends on time, threads or hash ordering.
/// </summary>
public sealed class Machine
{
    private Actor[] _actors = new Actor[8];
    private int _count;
    private readonly int[] _runnable = new int[64];
    private byte[] _schedule = new byte[256];
    private int _scheduleLength;
    private readonly RuntimeInvariants _invariants;

    public Machine(RuntimeInvariants invariants)
    {
        _invariants = invariants;
        Memory = new SimMemory(invariants);
    }

    public SimMemory Memory { get; }

    /// <summary>Told what each run does (see <see cref="IExecutionObserver"/>); null when nobody listens.</summary>
    public IExecutionObserver? Observer
    {
        get => _observer;
        set
        {
            _observer = value;
            Memory.Observer = value;
        }
    }
    private IExecutionObserver? _observer;
    public Trace Trace { get; } = new();
    public long Step { get; private set; }
    public Actor? Current { get; private set; }
    public long MaxSteps = 200_000;

    /// <summary>Number of scheduling decisions where the running actor was runnable and another was picked.</summary>
    public int Preemptions { get; private set; }
    public int ContextSwitches { get; private set; }

    /// <summary>Rolling hash of everything the schedule did (who ran at each step, and model events).</summary>
    public ulong EventHash { get; private set; }

    public ReadOnlySpan<byte> Schedule => _schedule.AsSpan(0, _scheduleLength);

    /// <summary>
    /// Decisions a strategy makes at most; past them the running actor keeps running, as an input's
    /// choice stream does once it runs out. Every run thereby replays exactly from the schedule it
    /// recorded, which an input holds at most <see cref="Input.ProgramInput.MaxChoices"/> of.
    /// </summary>
    public int ChoiceLimit { get; set; } = Input.ProgramInput.MaxChoices;

    public void Reset()
    {
        Array.Clear(_actors, 0, _count);
        _count = 0;
        _scheduleLength = 0;
        Step = 0;
        Preemptions = 0;
        ContextSwitches = 0;
        EventHash = Fnv1a.Offset;
        Current = null;
        Memory.Reset();
        Trace.Clear();
    }

    public Actor Spawn(string name, Co body)
    {
        if (_count == _actors.Length) Array.Resize(ref _actors, _count * 2);
        var a = new Actor(_count, name, body);
        _actors[_count++] = a;
        return a;
    }

    /// <summary>
    /// Calls <paramref name="callee"/> from the running actor, as <c>yield return m.Call(callee)</c>:
    /// the callee runs to its end before the caller goes on, and its result is in <see cref="Actor.Ret"/>.
    /// </summary>
    public object? Call(Co callee)
    {
        Current!.Callee = callee;
        return null;
    }

    /// <summary>Mixes a model event (lock hand-off, retry, protocol state) into the event hash.</summary>
    /// <remarks>
    /// Each owner names its kinds in an enum of its own; the value is what is hashed, so kinds of
    /// different owners must not share one. <paramref name="peer"/> is the other actor involved
    /// (e.g. the previous lock holder), or -1.
    /// </remarks>
    public void Event<TKind>(TKind kind, ulong a = 0, int peer = -1) where TKind : unmanaged, Enum
    {
        uint k = ValueOf(kind);
        ulong h = EventHash;
        h = Fnv1a.Mix(h, k);
        h = Fnv1a.Mix(h, a);
        EventHash = h;
        if (_observer is { } o) o.Event(k, a, Current, (uint)peer < (uint)_count ? _actors[peer] : null);
    }

    /// <summary>An enum's value without boxing; the size test folds away in each instantiation.</summary>
    private static uint ValueOf<TKind>(TKind kind) where TKind : unmanaged, Enum => Unsafe.SizeOf<TKind>() switch
    {
        1 => Unsafe.As<TKind, byte>(ref kind),
        2 => Unsafe.As<TKind, ushort>(ref kind),
        4 => Unsafe.As<TKind, uint>(ref kind),
        _ => (uint)Unsafe.As<TKind, ulong>(ref kind),
    };

    public void Log(string text)
    {
        if (Trace.Enabled) Trace.Events.Add(new TraceEvent(Step, Current?.Id ?? -1, text));
    }

    /// <summary>Number of actors blocked waiting on the word at <paramref name="addr"/>.</summary>
    public int WaitersOn(ulong addr)
    {
        int n = 0;
        for (int i = 0; i < _count; i++)
            if (_actors[i].IsWaitingOn(addr) && !_actors[i].Finished) n++;
        return n;
    }

    /// <summary>Runs every actor to completion under <paramref name="strategy"/>; throws <see cref="InvariantViolation"/>.</summary>
    public void Run(IScheduleStrategy strategy)
    {
        int last = -1;
        while (true)
        {
            int n = 0, current = -1, unfinished = 0;
            for (int i = 0; i < _count; i++)
            {
                var a = _actors[i];
                if (a.Finished) continue;
                unfinished++;
                if (!CanRun(a)) continue;
                if (i == last) current = n;
                _runnable[n++] = i;
            }
            if (n == 0)
            {
                // What runs once no actor can (final checks, reports) is no actor's access.
                Memory.ClearAccessor();
                if (unfinished == 0)
                {
                    _observer?.Finished(Preemptions, ContextSwitches, _count);
                    return;
                }
                throw Stamp(new InvariantViolation(_invariants.LivenessId, _invariants.LivenessName,
                    "deadlock: every unfinished actor is blocked", BlockedDump()) { Site = "Machine.Run" });
            }
            if (Step >= MaxSteps)
            {
                Memory.ClearAccessor();
                throw Stamp(new InvariantViolation(_invariants.LivenessId, _invariants.LivenessName,
                    $"livelock: no completion within {MaxSteps} steps", BlockedDump()) { Site = "Machine.Run" });
            }

            int pick = 0;
            if (n > 1)
            {
                if (_scheduleLength < ChoiceLimit)
                {
                    pick = strategy.Choose(_runnable.AsSpan(0, n), current, Step);
                    if ((uint)pick >= (uint)n) pick = 0;
                    Record((byte)pick);
                }
                else pick = current >= 0 ? current : 0;
                if (current >= 0 && pick != current) Preemptions++;
            }
            var actor = _actors[_runnable[pick]];
            if (actor.Id != last)
            {
                if (last >= 0) ContextSwitches++;
                if (_observer is { } o && last >= 0) o.ContextSwitch(_actors[last], actor, current >= 0);
                if (Trace.Enabled && last >= 0) Trace.Events.Add(new TraceEvent(Step, actor.Id, "(scheduled)", TraceEventKind.Scheduled));
            }
            last = actor.Id;
            actor.Wait = WaitKind.None;
            // Storing a reference costs a GC write barrier; most steps keep the same actor.
            if (!ReferenceEquals(Current, actor)) Current = actor;
            // One actor alone never interleaves with another: its accesses need no bookkeeping.
            if (_count > 1) Memory.SetAccessor(actor.Id, actor.Role);
            Step++;
            actor.Steps++;
            EventHash = Fnv1a.Mix(EventHash, (uint)(actor.Id + 1));
            try
            {
                actor.Advance();
            }
            catch (InvariantViolation v)
            {
                throw Stamp(v);
            }
        }
    }

    private bool CanRun(Actor a) => a.Wait switch
    {
        WaitKind.None => true,
        WaitKind.WhileEquals => Memory.Peek(a.WaitAddr) != a.WaitValue,
        _ => Memory.Peek(a.WaitAddr) == a.WaitValue,
    };

    private void Record(byte b)
    {
        if (_scheduleLength == _schedule.Length) Array.Resize(ref _schedule, _schedule.Length * 2);
        _schedule[_scheduleLength++] = b;
    }

    /// <summary>Fills in where and when a violation happened; the model may throw from inside an actor or from a final check.</summary>
    public InvariantViolation Stamp(InvariantViolation v)
    {
        if (v.Step == 0)
        {
            v.Step = Step;
            v.Actor = Current?.Name ?? "";
            v.Operation = Current?.Operation ?? "";
            v.OperationName = Current?.OperationName ?? "";
            v.Schedule = Schedule.ToArray();
        }
        return v;
    }

    private string BlockedDump()
    {
        var sb = new System.Text.StringBuilder();
        for (int i = 0; i < _count; i++)
        {
            var a = _actors[i];
            if (a.Finished) { sb.AppendLine($"  {a.Name}: finished"); continue; }
            string w = a.Wait switch
            {
                WaitKind.WhileEquals => $"spinning while [0x{a.WaitAddr:x}] == 0x{a.WaitValue:x} (now 0x{Memory.Peek(a.WaitAddr):x})",
                WaitKind.UntilEquals => $"waiting until [0x{a.WaitAddr:x}] == 0x{a.WaitValue:x} (now 0x{Memory.Peek(a.WaitAddr):x})",
                _ => "runnable",
            };
            sb.AppendLine($"  {a.Name}: in {a.Operation}: {w}");
        }
        return sb.ToString();
    }
}
