using System.CommandLine;
using Fuzz.Instrumentation;

namespace Fuzz.Cli.Commands;

/// <summary>fuzz instrument: insert coverage probes into a .NET assembly. Exit 0 done (or already instrumented), 1 failed, 2 unusable arguments.</summary>
public static class InstrumentCommand
{
    public static Command Build()
    {
        var assembly = new Argument<FileInfo>("assembly") { Description = "the .dll to instrument (its .pdb, if next to it, is updated too)" };
        var output = new Option<FileInfo?>("--output") { Description = "write the instrumented assembly here instead of replacing the input" };
        var include = new Option<string[]>("--include")
        {
            Description = "instrument only these: prefixes of full type names (a nested type counts as its top-level type) or exact Namespace.Type::Method names, comma-separated or repeated; default everything",
        };
        var exclude = new Option<string[]>("--exclude")
        {
            Description = "leave these out, same forms as --include; wins over it",
        };
        var prune = new Option<bool>("--prune") { Description = "leave out methods that are one straight-line block (the calling block implies them); the build uses this for the model" };
        var cmd = new Command("instrument",
            "Insert AFL-style edge-coverage probes into a .NET assembly (the build already does this for the model); an instrumented assembly is left as it is")
            { assembly, output, include, exclude, prune };
        UsageErrors.SetAction(cmd, r =>
            Run(r.GetValue(assembly)!.FullName, r.GetValue(output)?.FullName, r.GetValue(include) ?? [], r.GetValue(exclude) ?? [], Console.Out, Console.Error, r.GetValue(prune)));
        return cmd;
    }

    public static int Run(string assembly, string? output, string[] include, string[] exclude, TextWriter stdout, TextWriter stderr, bool prune = false)
    {
        var options = new InstrumentOptions
        {
            Prune = prune,
            Include = include.SelectMany(MethodFilter.ParseList).ToArray(),
            Exclude = exclude.SelectMany(MethodFilter.ParseList).ToArray(),
        };
        try
        {
            stdout.WriteLine(Instrumenter.Instrument(assembly, output, options).Summary);
            return 0;
        }
        catch (InstrumentationException e)
        {
            stderr.WriteLine($"fuzz instrument: {e.Message}");
            return 1;
        }
    }
}
