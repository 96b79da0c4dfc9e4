using System.Reflection;
using System.Runtime.Loader;
using Fuzz.Coverage;

namespace Fuzz.Tests.Instrumentation;

/// <summary>
/// One assembly in its own collectible load context, with its own copy of Fuzz.Coverage, so its
/// probes write to the map attached in that context and nowhere else.
/// </summary>
internal sealed class IsolatedAssembly : IDisposable
{
    private readonly Context _context;

    public IsolatedAssembly(string path)
    {
        _context = new Context(Path.GetDirectoryName(path)!);
        Assembly = _context.LoadFromAssemblyPath(path);
    }

    public Assembly Assembly { get; }

    public MethodInfo Method(string type, string name) =>
        Assembly.GetType(type, throwOnError: true)!.GetMethod(name, BindingFlags.Public | BindingFlags.Static)
        ?? throw new MissingMethodException(type, name);

    /// <summary>The result as text, or the exception's type and message: what must not change under instrumentation.</summary>
    public static string Outcome(MethodInfo method, params object?[] args)
    {
        try
        {
            object? r = method.Invoke(null, args);
            return $"returned {r}";
        }
        catch (TargetInvocationException e) when (e.InnerException is { } inner)
        {
            return $"threw {inner.GetType().FullName}: {inner.Message}";
        }
    }

    /// <summary>The map one call leaves behind in this assembly's context.</summary>
    public byte[] Coverage(Action run)
    {
        var map = new byte[CoverageMap.Size];
        var type = _context.LoadFromAssemblyName(typeof(CoverageMap).Assembly.GetName()).GetType(typeof(CoverageMap).FullName!, throwOnError: true)!;
        var attach = type.GetMethod(nameof(CoverageMap.Attach))!;
        attach.Invoke(null, [map, null]);
        try
        {
            run();
        }
        finally
        {
            attach.Invoke(null, [null, null]);
        }
        return map;
    }

    public void Dispose() => _context.Unload();

    private sealed class Context(string directory) : AssemblyLoadContext(isCollectible: true)
    {
        protected override Assembly? Load(AssemblyName name)
        {
            if (name.Name == typeof(CoverageMap).Assembly.GetName().Name) return LoadFromAssemblyPath(typeof(CoverageMap).Assembly.Location);
            string candidate = Path.Combine(directory, name.Name + ".dll");
            return File.Exists(candidate) ? LoadFromAssemblyPath(candidate) : null;
        }
    }
}
