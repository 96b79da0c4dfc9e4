using Fuzz.Cli.Commands;
using Xunit;

namespace Fuzz.Tests.Cli;

/// <summary>fuzz events: the model events a corpus reaches, counted by replaying it.</summary>
public class EventsCommandTests
{
    private static string Corpus => Path.Combine(FuzzProcess.RepoRoot, "corpus", "mmu");

    private static (int Code, string[] Lines) Run(params string[] bugs)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = EventsCommand.Run([Corpus], "mmu", bugs, stdout, stderr);
        Assert.True(stderr.ToString().Length == 0, stderr.ToString());
        return (code, stdout.ToString().ReplaceLineEndings("\n").Split('\n'));
    }

    [Fact]
    public void The_committed_corpus_builds_an_rmap_of_more_than_three_descriptors()
    {
        var (code, lines) = Run();
        Assert.Equal(0, code);
        Assert.Matches(@"^\d+ entries replayed \(0 fail, 0 skipped\)$", lines[0]);
        string row = Assert.Single(lines, l => l.StartsWith("pte-list-desc-prepended "));
        var m = System.Text.RegularExpressions.Regex.Match(row, @"\s(\d+) \(descriptors in the chain\)\s+rmap-tail\.bin$");
        Assert.True(m.Success, row);
        Assert.True(int.Parse(m.Groups[1].Value) >= 3, row);
    }

    [Fact]
    public void Every_event_the_target_names_has_a_row_and_failing_entries_are_counted()
    {
        var (_, lines) = Run("stale-fault");
        Assert.Matches(@"^\d+ entries replayed \([1-9]\d* fail, 0 skipped\)$", lines[0]);
        foreach (var kind in Fuzz.Targets.Mmu.MmuTarget.Description.Events)
            Assert.Single(lines, l => l.StartsWith(kind.Name + " "));
    }

    [Fact]
    public void A_missing_directory_is_a_usage_error()
    {
        var stderr = new StringWriter();
        Assert.Equal(2, EventsCommand.Run(["/nonexistent/corpus"], "mmu", [], new StringWriter(), stderr));
        Assert.Contains("no directory", stderr.ToString());
    }
}
