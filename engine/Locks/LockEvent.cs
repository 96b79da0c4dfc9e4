namespace Fuzz.Engine.Locks;

/// <summary>What the locks report to <see cref="Scheduling.Machine.Event"/>.</summary>
/// <remarks>Every owner's kinds share one event hash: a target's kinds start above these.</remarks>
public enum LockEvent : uint
{
    /// <summary>A write lock taken by another actor than the one that last released it (the peer).</summary>
    WriteHandOff = 1,
}
