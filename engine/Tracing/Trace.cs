namespace Fuzz.Engine.Tracing;

public readonly record struct TraceEvent(long Step, int Actor, string Text);

/// <summary>Human-readable timeline; recorded only when enabled, so the fuzz loop pays nothing for it.</summary>
public sealed class Trace
{
    public bool Enabled;
    public readonly List<TraceEvent> Events = new();

    public void Clear() => Events.Clear();
}
