namespace Fuzz.Engine.Fuzzing;

/// <summary>How a fuzz loop makes its inputs.</summary>
public enum InputKind
{
    /// <summary>Mutated corpus programs, coverage-guided; one in 64 a fresh random program.</summary>
    Mutation,

    /// <summary>Fresh random programs only.</summary>
    Generation,
}
