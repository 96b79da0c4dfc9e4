using Fuzz.Engine.Crashes;
using Fuzz.Engine.Minimization;

namespace Fuzz.Engine.Transport.Wire;

/// <summary>The engine's identities and shapes on the wire and back: the one place they are converted.</summary>
public static class WireTypes
{
    public static Messages.WireCrashKey ToWire(this CrashKey k) => new() { Invariant = (uint)k.Invariant, Site = k.Site, Operation = k.Operation };

    /// <summary>Null when the message carried no key.</summary>
    public static CrashKey? FromWire(Messages.WireCrashKey? k) => k is null ? null : new((int)k.Invariant, k.Site, k.Operation);

    public static Messages.WireProgramShape ToWire(this ProgramShape s) => new()
    {
        Ops = (uint)s.Ops, Threads = (uint)s.Threads, Preemptions = (uint)s.Preemptions, ContextSwitches = (uint)s.ContextSwitches,
        Steps = (ulong)s.Steps, Choices = (uint)s.Choices,
    };

    public static ProgramShape FromWire(Messages.WireProgramShape? s) => s is null
        ? ProgramShape.None
        : new((int)s.Ops, (int)s.Threads, (int)s.Preemptions, (int)s.ContextSwitches, (long)s.Steps, (int)s.Choices);
}
