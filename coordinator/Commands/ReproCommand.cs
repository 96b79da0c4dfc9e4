using System.CommandLine;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Targets.Mmu;

namespace Fuzz.Coordinator.Commands;

/// <summary>fuzz repro: replay one input and print what happened. Exit 0 clean, 1 violation, 2 unusable arguments.</summary>
public static class ReproCommand
{
    public static Command Build()
    {
        var input = new Argument<FileInfo>("input-file") { Description = "the program to replay (any bytes are a valid program)" };
        var trace = new Option<bool>("--trace") { Description = "print the per-thread timeline" };
        var target = new Option<string>("--target") { Description = "fuzz target", DefaultValueFactory = _ => MmuTarget.Name };
        var bugs = BugOption.Create();
        var cmd = new Command("repro", "Replay one input exactly and report the verdict") { input, trace, target, bugs };
        cmd.SetAction(r =>
        {
            if (r.GetValue(target) != MmuTarget.Name)
            {
                Console.Error.WriteLine($"fuzz repro: unknown target '{r.GetValue(target)}' (see `fuzz targets`)");
                return 2;
            }
            return Run(r.GetValue(input)!, r.GetValue(trace), r.GetValue(bugs) ?? [], Console.Out, Console.Error);
        });
        return cmd;
    }

    public static int Run(FileInfo file, bool trace, string[] bugIds, TextWriter stdout, TextWriter stderr)
    {
        if (!BugOption.TryParse(bugIds, stderr, out var bugs)) return 2;
        if (!InputFile.TryRead(file, "fuzz repro", stderr, out var bytes, out long length)) return 2;
        var program = MmuTarget.Codec.Decode(bytes);
        stdout.WriteLine($"input: {file.Name} ({length} bytes{(length > bytes.Length ? $"; the decoder reads the first {bytes.Length}" : "")})");
        stdout.Write(MmuReport.Header(program, bugs));
        var runner = new MmuRunner(bugs) { Tracing = trace };
        ExecResult result;
        try
        {
            result = runner.Run(program);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            stdout.WriteLine($"verdict: MODEL EXCEPTION (a defect in the model, not a checked invariant): {e.GetType().FullName}: {e.Message}");
            stdout.WriteLine(e.StackTrace);
            return 1;
        }
        stdout.Write(MmuReport.Outcome(result));
        if (result.Violation is not { } v) return 0;
        stdout.WriteLine($"signature: {CrashSignature.Compute(v.Key, program, result.Preemptions, MmuTarget.Vocabulary)}  (key {v.Key}; a minimised input's signature names its crash directory)");
        return 1;
    }
}

internal static class BugOption
{
    public static Option<string[]> Create() => new("--bug")
    {
        Description = "switch on a seeded bug variant by id (repeatable, or ids separated by commas; see `fuzz targets`)",
    };

    public static bool TryParse(string[] ids, TextWriter stderr, out BugSet bugs)
    {
        try
        {
            bugs = new BugSet(ids.SelectMany(i => i.Split(',', StringSplitOptions.RemoveEmptyEntries)));
            return true;
        }
        catch (ArgumentException e)
        {
            stderr.WriteLine($"fuzz: {e.Message}");
            bugs = BugSet.None;
            return false;
        }
    }
}
