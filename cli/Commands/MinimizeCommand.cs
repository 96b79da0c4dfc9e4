using System.CommandLine;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Minimization;
using Fuzz.Engine.Storage;

namespace Fuzz.Cli.Commands;

/// <summary>fuzz minimize: shrink a crashing input without changing its signature. Exit 0 minimised, 1 the input does not fail, 2 usage.</summary>
public static class MinimizeCommand
{
    public static Command Build()
    {
        var input = new Argument<FileInfo>("crash-input") { Description = "a crashing input (e.g. crashes/<signature>/input)" };
        var target = new Option<string>("--target") { Description = "fuzz target", DefaultValueFactory = _ => Targets.Factory.DefaultTarget };
        var outFile = new Option<FileInfo?>("--out") { Description = "where to write the minimised input (default: <crash-input>.min)" };
        var seconds = new Option<double>("--seconds") { Description = "time budget", DefaultValueFactory = _ => 60 };
        var bugs = BugOption.Create();
        var cmd = new Command("minimize", "Minimise a crashing input: threads, operations, arguments, then preemptions and context switches") { input, target, outFile, seconds, bugs };
        cmd.SetAction((r, cancel) => Task.FromResult(Run(r.GetValue(input)!, r.GetValue(target)!, r.GetValue(outFile), r.GetValue(seconds), r.GetValue(bugs) ?? [], Console.Out, Console.Error, cancel)));
        return cmd;
    }

    public static int Run(FileInfo file, string targetName, FileInfo? outFile, double seconds, string[] bugIds, TextWriter stdout, TextWriter stderr, CancellationToken cancel)
    {
        if (Targets.Factory.Describe(targetName) is not { } description) { stderr.WriteLine($"fuzz minimize: unknown target '{targetName}'"); return 2; }
        if (!BugOption.TryParse(description, bugIds, stderr, out var bugs)) return 2;
        if (!InputFile.TryRead(file, "fuzz minimize", stderr, out var bytes)) return 2;
        var target = Targets.Factory.Create(targetName, bugs);
        var program = target.Codec.Decode(bytes);
        var first = target.ExecuteSafely(program);
        if (first.Violation is not { } v)
        {
            stderr.WriteLine($"fuzz minimize: {file.Name} breaks no invariant{(bugs.Count > 0 ? "" : " (a seeded variant needs --bug <id>)")}; nothing to minimise");
            return 1;
        }
        var (m, _, sig) = CrashReplay.MinimizeAndSign(target, program, TimeSpan.FromSeconds(Math.Max(0.1, seconds)), cancel);
        string dest = outFile?.FullName ?? file.FullName + ".min";
        try
        {
            AtomicFile.Write(dest, target.Codec.Encode(m.Minimized));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"fuzz minimize: cannot write '{dest}': {e.Message}");
            return 2;
        }
        stdout.WriteLine($"crash: invariant {v.Id} ({v.InvariantName}) at {v.Site}: {v.Detail}");
        stdout.WriteLine($"signature: {sig}  (key {m.Key}, unchanged)");
        stdout.WriteLine($"{"",-10} {"ops",5} {"threads",8} {"preemptions",12} {"switches",9} {"steps",7} {"choices",8}");
        stdout.WriteLine(Row("before", m.Before));
        stdout.WriteLine(Row("after", m.After));
        stdout.WriteLine($"time: {m.Elapsed.TotalSeconds:F2}s, {m.Executions} executions{(m.TimedOut ? " (stopped by the time budget)" : "")}");
        stdout.Write(target.Codec.Describe(m.Minimized));
        stdout.WriteLine($"written: {dest}");
        return 0;
    }

    private static string Row(string name, ProgramShape s) =>
        $"{name,-10} {s.Ops,5} {s.Threads,8} {s.Preemptions,12} {s.ContextSwitches,9} {s.Steps,7} {s.Choices,8}";
}

/// <summary>Reads an input file: any bytes are a program, but no more than the largest program is read.</summary>
public static class InputFile
{
    public static bool TryRead(FileInfo file, string command, TextWriter stderr, out byte[] bytes) =>
        TryRead(file, command, stderr, out bytes, out _);

    /// <param name="length">the file's whole length (only the first <see cref="ProgramInput.MaxEncodedBytes"/> are read)</param>
    public static bool TryRead(FileInfo file, string command, TextWriter stderr, out byte[] bytes, out long length)
    {
        length = 0;
        try
        {
            using var fs = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read);
            length = fs.Length;
            bytes = new byte[(int)Math.Min(length, ProgramInput.MaxEncodedBytes)];
            fs.ReadExactly(bytes);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            stderr.WriteLine($"{command}: cannot read '{file.FullName}': {e.Message}");
            bytes = [];
            return false;
        }
    }
}
