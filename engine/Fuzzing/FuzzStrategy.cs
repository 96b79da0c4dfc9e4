namespace Fuzz.Engine.Fuzzing;

/// <summary>A named pairing of how inputs are made with how they are scheduled: what <c>--strategy</c> picks.</summary>
public sealed record FuzzStrategy(string Name, InputKind Inputs, ScheduleKind Schedule)
{
    /// <summary>Mutated corpus programs on their own choice streams, part of them under random and PCT schedules.</summary>
    public static FuzzStrategy Coverage { get; } = new("coverage", InputKind.Mutation, ScheduleKind.Portfolio);

    /// <summary>Random programs under random schedules, a baseline.</summary>
    public static FuzzStrategy Random { get; } = new("random", InputKind.Generation, ScheduleKind.Random);

    /// <summary>Random programs under PCT schedules, a baseline.</summary>
    public static FuzzStrategy Pct { get; } = new("pct", InputKind.Generation, ScheduleKind.Pct);

    public static IReadOnlyList<FuzzStrategy> All { get; } = [Coverage, Random, Pct];

    /// <summary>coverage, random or pct (any case).</summary>
    public static bool TryParse(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out FuzzStrategy? strategy)
    {
        strategy = All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
        return strategy is not null;
    }
}
