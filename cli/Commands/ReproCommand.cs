using System.CommandLine;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;

namespace Fuzz.Cli.Commands;

/// <summary>fuzz repro: replay one input and print what happened. Exit 0 clean, 1 violation, 2 unusable arguments.</summary>
public static class ReproCommand
{
    public static Command Build()
    {
        var input = new Argument<FileInfo>("input-file") { Description = "the program to replay (any bytes are a valid program)" };
        var trace = new Option<bool>("--trace") { Description = "print the per-thread timeline" };
        var target = new Option<string>("--target") { Description = "fuzz target", DefaultValueFactory = _ => Targets.Factory.DefaultTarget };
        var bugs = BugOption.Create();
        var cmd = new Command("repro", "Replay one input exactly and report the verdict") { input, trace, target, bugs };
        cmd.SetAction(r => Run(r.GetValue(input)!, r.GetValue(trace), r.GetValue(bugs) ?? [], Console.Out, Console.Error, r.GetValue(target)));
        return cmd;
    }

    /// <param name="targetName">null: the default target</param>
    public static int Run(FileInfo file, bool trace, string[] bugIds, TextWriter stdout, TextWriter stderr, string? targetName = null)
    {
        targetName ??= Targets.Factory.DefaultTarget;
        if (Targets.Factory.Describe(targetName) is not { } description)
        {
            stderr.WriteLine($"fuzz repro: unknown target '{targetName}' (see `fuzz targets`)");
            return 2;
        }
        if (!BugOption.TryParse(description, bugIds, stderr, out var bugs)) return 2;
        if (!InputFile.TryRead(file, "fuzz repro", stderr, out var bytes, out long length)) return 2;
        var target = Targets.Factory.Create(targetName, bugs);
        var program = target.Codec.Decode(bytes);
        stdout.WriteLine($"input: {file.Name} ({length} bytes{(length > bytes.Length ? $"; the decoder reads the first {bytes.Length}" : "")})");
        stdout.Write(target.Header(program));
        ExecResult result;
        string outcome;
        try
        {
            (result, outcome) = target.Repro(program, trace);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stdout.WriteLine($"verdict: MODEL EXCEPTION (a defect in the model, not a checked invariant): {e.GetType().FullName}: {e.Message}");
            stdout.WriteLine(e.StackTrace);
            return 1;
        }
        stdout.Write(outcome);
        if (result.Violation is not { } v) return 0;
        stdout.WriteLine($"signature: {CrashSignature.Compute(v.Key, program, result.Preemptions, target.Vocabulary)}  (key {v.Key}; a minimised input's signature names its crash directory)");
        return 1;
    }
}
