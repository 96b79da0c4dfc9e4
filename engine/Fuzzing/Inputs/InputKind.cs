namespace Fuzz.Engine.Fuzzing;

/// <summary>How a fuzz loop makes its inputs.</summary>
public enum InputKind
{
    /// <summary>Mutated corpus programs, coverage-guided, and fresh random programs for the share that finds features (<see cref="FreshShare"/>).</summary>
    Mutation,

    /// <summary>Fresh random programs only.</summary>
    Generation,
}
