using System.Text.RegularExpressions;
using Xunit;

namespace Fuzz.Tests.Cli;

/// <summary>docs/findings/lockless-reread-empty.md: the reproducer command in its code block runs as written and fails with invariant 7.</summary>
public class FindingReproducerTests
{
    private const string DotnetRun = "dotnet run --project cli -c Release -- ";

    private static string Doc => File.ReadAllText(Path.Combine(FuzzProcess.RepoRoot, "docs", "findings", "lockless-reread-empty.md")).ReplaceLineEndings("\n");

    /// <summary>The one `fuzz repro` line in the document's sh code blocks.</summary>
    private static string ReproCommand()
    {
        var commands = Regex.Matches(Doc, "```sh\n(.*?)```", RegexOptions.Singleline)
            .SelectMany(m => m.Groups[1].Value.Split('\n'))
            .Where(l => l.Contains(" repro "))
            .ToList();
        return Assert.Single(commands).Trim();
    }

    [Fact]
    public void The_documented_reproducer_command_fails_with_invariant_7_on_a_freed_pte_list_desc()
    {
        string command = ReproCommand();
        Assert.StartsWith(DotnetRun, command);
        string[] args = command[DotnetRun.Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["repro", "--target", "mmu", "--bug", "lockless-reread-empty", "corpus/mmu/lockless-reread-empty.bin", "--trace"], args);

        var (code, stdout, stderr) = FuzzProcess.Run(FuzzProcess.RepoRoot, TimeSpan.FromSeconds(60), args);
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Contains("verdict: VIOLATION of invariant 7 (Safe free)", stdout);
        Assert.Matches(@"use after free: read of 0x[0-9a-f]+, word \d+ of freed object #\d+ \(pte_list_desc\)", stdout);
        Assert.Contains("operation: #1 test_young(slot=0, gfn=0, npages-1=0)", stdout);

        string quoted = Assert.Single(Doc.Split('\n'), l => l.StartsWith("verdict: "));
        Assert.Contains(quoted, stdout);
    }

    [Fact]
    public void Without_the_variant_the_same_input_is_clean()
    {
        var (code, stdout, _) = FuzzProcess.Run(FuzzProcess.RepoRoot, TimeSpan.FromSeconds(60),
            ["repro", "--target", "mmu", "corpus/mmu/lockless-reread-empty.bin"]);
        Assert.Equal(0, code);
        Assert.Contains("verdict: no invariant violated", stdout);
    }
}
