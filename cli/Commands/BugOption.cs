using System.CommandLine;
using Fuzz.Engine.Fuzzing;

namespace Fuzz.Cli.Commands;

/// <summary>--bug: seeded bug variants of the target, by id.</summary>
public static class BugOption
{
    public static Option<string[]> Create() => new("--bug")
    {
        Description = "switch on a seeded bug variant by id (repeatable, or ids separated by commas; see `fuzz targets`)",
    };

    /// <summary>The ids given (each once, in ordinal order), or false with the first id the target does not know written to <paramref name="stderr"/>.</summary>
    public static bool TryParse(TargetDescription target, string[] ids, TextWriter stderr, out IReadOnlyList<string> bugs)
    {
        var on = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var id in ids.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries)))
        {
            if (target.FindVariant(id) is null)
            {
                stderr.WriteLine($"fuzz: unknown bug variant '{id}' (see `fuzz targets`)");
                bugs = [];
                return false;
            }
            on.Add(id);
        }
        bugs = on.ToList();
        return true;
    }
}
