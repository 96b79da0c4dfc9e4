using Fuzz.Engine.Fuzzing;

namespace Fuzz.Cli;

/// <summary>The one place the command line chooses its targets; every command reaches a model through this factory.</summary>
public static class Targets
{
    public static readonly ITargetFactory Factory = new Fuzz.Targets.TargetFactory();
}
