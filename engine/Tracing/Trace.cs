namespace Fuzz.Engine.Tracing;

public enum TraceEventKind : byte
{
    /// <summary>A line the model logged.</summary>
    Log,

    /// <summary>The machine switched to <see cref="TraceEvent.Actor"/>.</summary>
    Scheduled,
}

public readonly record struct TraceEvent(long Step, int Actor, string Text, TraceEventKind Kind = TraceEventKind.Log);

/// <summary>Human-readable timeline; recorded only when enabled, so the fuzz loop pays nothing for it.</summary>
public sealed class Trace
{
    public bool Enabled;
    public readonly List<TraceEvent> Events = new();

    public void Clear() => Events.Clear();
}
