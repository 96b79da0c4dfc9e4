using Fuzz.Engine.Fuzzing;

namespace Fuzz.Cli.Bench;

/// <summary>
/// The uninstrumented copy of the model (raw/Fuzz.Targets.dll, kept by the build before it
/// instruments), loaded beside the instrumented one in its own load context.
/// </summary>
public static class RawTargets
{
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "raw", "Fuzz.Targets.dll");

    public static ITargetFactory Load(string? path = null)
    {
        path ??= DefaultPath;
        if (!File.Exists(path)) throw new FileNotFoundException($"the uninstrumented model is missing: {path} (it is written when fuzz-targets is built)", path);
        return TargetContext.Load(Targets.Factory, path).Factory;
    }
}
