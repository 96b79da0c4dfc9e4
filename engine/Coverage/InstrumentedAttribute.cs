namespace Fuzz.Coverage;

/// <summary>Marks an assembly whose methods carry coverage probes, so it is never instrumented twice.</summary>
[AttributeUsage(AttributeTargets.Assembly, AllowMultiple = false)]
public sealed class InstrumentedAttribute : Attribute
{
    public InstrumentedAttribute(int probes) => Probes = probes;

    public int Probes { get; }
}
