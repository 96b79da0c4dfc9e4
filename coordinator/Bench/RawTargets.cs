using System.Reflection;
using System.Runtime.Loader;
using Fuzz.Engine.Fuzzing;

namespace Fuzz.Coordinator.Bench;

/// <summary>
/// The uninstrumented copy of the model (raw/Fuzz.Targets.dll, kept by the build before it
/// instruments), loaded beside the instrumented one in its own load context. The engine is shared,
/// so both copies implement the same <see cref="ITargetFactory"/>.
/// </summary>
public static class RawTargets
{
    public static string DefaultPath => Path.Combine(AppContext.BaseDirectory, "raw", "Fuzz.Targets.dll");

    public static ITargetFactory Load(string? path = null)
    {
        path ??= DefaultPath;
        if (!File.Exists(path)) throw new FileNotFoundException($"the uninstrumented model is missing: {path} (it is written when fuzz-targets is built)", path);
        var alc = new RawContext(path);
        var asm = alc.LoadFromAssemblyPath(path);
        var type = asm.GetType("Fuzz.Targets.TargetFactory", throwOnError: true)!;
        return (ITargetFactory)Activator.CreateInstance(type)!;
    }

    private sealed class RawContext(string path) : AssemblyLoadContext("raw model", isCollectible: false)
    {
        private readonly string _name = AssemblyName.GetAssemblyName(path).Name!;

        protected override Assembly? Load(AssemblyName name) => name.Name == _name ? LoadFromAssemblyPath(path) : null;
    }
}
