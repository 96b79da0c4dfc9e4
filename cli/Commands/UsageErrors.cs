using System.CommandLine;
using System.CommandLine.Invocation;

namespace Fuzz.Cli.Commands;

/// <summary>
/// The command line's contract: unusable arguments (unknown options, missing required ones, values
/// that do not parse) exit 2 with the parser's messages on stderr. System.CommandLine's own
/// handling of them exits 1, so commands set their action through here.
/// </summary>
public static class UsageErrors
{
    public const int ExitCode = 2;

    public static void SetAction(Command command, Func<ParseResult, int> run) => command.Action = new Sync(command.Name, run);

    public static void SetAction(Command command, Func<ParseResult, CancellationToken, Task<int>> run) => command.Action = new Async(command.Name, run);

    /// <summary>Writes the problems of <paramref name="r"/>, if it has any.</summary>
    private static bool Reported(ParseResult r, string command)
    {
        var problems = r.Errors.Select(e => e.Message).Concat(r.UnmatchedTokens.Select(t => $"unrecognized argument '{t}'")).Distinct().ToList();
        if (problems.Count == 0) return false;
        foreach (var p in problems) Console.Error.WriteLine($"fuzz {command}: {p}");
        Console.Error.WriteLine($"see fuzz {command} --help");
        return true;
    }

    private sealed class Sync(string command, Func<ParseResult, int> run) : SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult r) => Reported(r, command) ? ExitCode : run(r);
    }

    private sealed class Async(string command, Func<ParseResult, CancellationToken, Task<int>> run) : AsynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override Task<int> InvokeAsync(ParseResult r, CancellationToken cancel) => Reported(r, command) ? Task.FromResult(ExitCode) : run(r, cancel);
    }
}
