using System.Reflection;
using System.Runtime.Loader;
using Fuzz.Coverage;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// A private copy of a target assembly and of the coverage runtime in their own load context, with
/// an edge map attached there. The engine is shared, so the copy's targets are ordinary
/// <see cref="IFuzzTarget"/>s; only their probes write to this context's map.
/// </summary>
public sealed class TargetContext
{
    private static int _count;
    private readonly Action _resetPrev;

    private TargetContext(ITargetFactory factory, byte[] edgeMap, byte[] edgeLines, Action resetPrev)
    {
        Factory = factory;
        EdgeMap = edgeMap;
        EdgeLines = edgeLines;
        _resetPrev = resetPrev;
    }

    public ITargetFactory Factory { get; }
    public byte[] EdgeMap { get; }

    /// <summary>One byte per 64-byte line of <see cref="EdgeMap"/>, set when a probe wrote to the line (then the probes' own state).</summary>
    public byte[] EdgeLines { get; }

    public void ResetPrev() => _resetPrev();

    /// <summary>
    /// Loads the assembly that defines <paramref name="template"/>'s type again, with its own coverage
    /// map; or, with <paramref name="assemblyPath"/>, another build of it (e.g. the uninstrumented one).
    /// </summary>
    public static TargetContext Load(ITargetFactory template, string? assemblyPath = null)
    {
        var targetAsm = template.GetType().Assembly;
        string path = assemblyPath ?? targetAsm.Location;
        var coverageAsm = typeof(CoverageMap).Assembly;
        var alc = new Context($"fuzz loop {Interlocked.Increment(ref _count)}",
            new Dictionary<string, string>
            {
                [targetAsm.GetName().Name!] = path,
                [coverageAsm.GetName().Name!] = coverageAsm.Location,
            });
        var target = alc.LoadFromAssemblyPath(path);
        var coverage = alc.LoadFromAssemblyName(coverageAsm.GetName());
        var map = new byte[CoverageMap.Size];
        var lines = new byte[CoverageMap.LineBufferSize];
        var mapType = coverage.GetType(typeof(CoverageMap).FullName!, throwOnError: true)!;
        mapType.GetMethod(nameof(CoverageMap.Attach))!.Invoke(null, [map, lines]);
        var reset = mapType.GetMethod(nameof(CoverageMap.ResetPrev))!.CreateDelegate<Action>();
        var factory = (ITargetFactory)Activator.CreateInstance(target.GetType(template.GetType().FullName!, throwOnError: true)!)!;
        return new TargetContext(factory, map, lines, reset);
    }

    private sealed class Context(string name, Dictionary<string, string> own) : AssemblyLoadContext(name)
    {
        protected override Assembly? Load(AssemblyName assemblyName) =>
            assemblyName.Name is { } n && own.TryGetValue(n, out var path) ? LoadFromAssemblyPath(path) : null;
    }
}
