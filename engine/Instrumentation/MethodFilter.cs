using Mono.Cecil;

namespace Fuzz.Instrumentation;

/// <summary>
/// Decides which methods get probes. A pattern without <c>::</c> is a prefix of the full name of
/// the method's top-level type; a pattern with <c>::</c> names one method exactly, where code the
/// compiler moved into nested types (iterators, async state machines, lambdas, local functions)
/// counts as part of the method it was written in.
/// </summary>
public sealed class MethodFilter(IReadOnlyList<string> include, IReadOnlyList<string> exclude)
{
    public bool Accepts(MethodDefinition method)
    {
        var top = method.DeclaringType;
        while (top.DeclaringType is not null) top = top.DeclaringType;
        string typeName = top.FullName;
        string methodKey = typeName + "::" + SourceMethodName(method);
        bool Matches(string p) => p.Contains("::") ? methodKey == p : typeName.StartsWith(p, StringComparison.Ordinal);
        return (include.Count == 0 || include.Any(Matches)) && !exclude.Any(Matches);
    }

    /// <summary>The name of the method as written: <c>Fault</c> for <c>&lt;Fault&gt;d__12.MoveNext</c> or <c>&lt;Fault&gt;b__3_0</c>.</summary>
    public static string SourceMethodName(MethodDefinition method)
    {
        if (Unmangle(method.Name) is { } own) return own;
        for (var t = method.DeclaringType; t.DeclaringType is not null; t = t.DeclaringType)
            if (Unmangle(t.Name) is { } outer) return outer;
        return method.Name;
    }

    private static string? Unmangle(string name)
    {
        if (!name.StartsWith('<')) return null;
        int close = name.IndexOf('>');
        return close > 1 ? name[1..close] : null;
    }

    public static IReadOnlyList<string> ParseList(string? commaSeparated) =>
        string.IsNullOrWhiteSpace(commaSeparated)
            ? []
            : commaSeparated.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
