using System.Text.Json;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;
using Fuzz.Targets;
using Xunit;

namespace Fuzz.Tests.Engine.Crashes;

/// <summary>Triage of the committed stale-fault reproducer, minimised with no budget so that every run signs the same program.</summary>
public sealed class CrashTriageTests : IDisposable
{
    private const string Target = "mmu";
    private static readonly string[] Bugs = ["stale-fault"];
    private static readonly ITargetFactory Factory = new TargetFactory();

    private readonly string _dir = Directory.CreateTempSubdirectory("fuzz-test-").FullName;
    private readonly byte[] _crash = File.ReadAllBytes(Path.Combine(Model.Corpus.Dir, "stale-fault.bin"));

    public void Dispose() => Directory.Delete(_dir, true);

    private CrashTriage NewTriage() => new(Factory, Target, Bugs, _dir, TimeSpan.Zero);

    private InvariantViolation Replay(byte[] input)
    {
        var target = Factory.Create(Target, Bugs);
        return target.ExecuteSafely(target.Codec.Decode(input)).Violation!;
    }

    private CrashSubmission Found(byte[] input, InvariantViolation violation) => CrashSubmission.From(new CrashFound(input, violation, 0, 1, TimeSpan.Zero));

    private CrashSubmission Crash() => Found(_crash, Replay(_crash));

    [Fact]
    public void The_same_crash_twice_is_filed_once_and_then_counted_as_a_duplicate()
    {
        using var triage = NewTriage();
        var first = triage.Triage(Crash(), CancellationToken.None);
        var second = triage.Triage(Crash(), CancellationToken.None);

        Assert.Equal(TriageVerdict.Filed, first.Verdict);
        Assert.Equal(TriageVerdict.Duplicate, second.Verdict);
        Assert.Equal(first.Signature, second.Signature);
        Assert.Matches("^inv[0-9]+-[A-Za-z0-9_]+-[0-9a-f]{8}$", first.Signature);
        Assert.Equal(1, triage.Unique);
        Assert.Equal(1, triage.Duplicates);
        Assert.Equal(2, Assert.Single(triage.Filed).Hits);

        string dir = Path.Combine(_dir, first.Signature!);
        Assert.Equal(["input", "minimized", "report.json", "report.md", "trace.txt"], Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal(_crash, File.ReadAllBytes(Path.Combine(dir, "input")));
        using var report = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(dir, "report.json")));
        Assert.Equal(first.Signature, report.RootElement.GetProperty("Signature").GetString());
        Assert.Equal(2, report.RootElement.GetProperty("Hits").GetInt32());
        Assert.NotNull(Replay(File.ReadAllBytes(Path.Combine(dir, "minimized"))));
    }

    [Fact]
    public void A_crash_that_does_not_fail_again_with_its_invariant_and_site_is_counted_not_filed()
    {
        using var triage = NewTriage();
        var v = Replay(_crash);
        var clean = Factory.Create(Target, Bugs).Codec.Encode(new ProgramInput(1, 0, [], []));
        var elsewhere = new InvariantViolation(v.Id, v.InvariantName, v.Detail) { Site = "elsewhere" };

        Assert.Equal(TriageVerdict.NotReproduced, triage.Triage(Found(clean, v), CancellationToken.None).Verdict);
        Assert.Equal(TriageVerdict.NotReproduced, triage.Triage(Found(_crash, elsewhere), CancellationToken.None).Verdict);
        Assert.Equal(2, triage.NotReproduced);
        Assert.Equal(0, triage.Unique);
        Assert.Equal(0, triage.Duplicates);
        Assert.Empty(Directory.GetFileSystemEntries(_dir));
    }

    [Fact]
    public void At_most_MaxMinimizationsPerKey_crashes_of_one_key_are_minimised()
    {
        using var triage = NewTriage();
        int minimizations = 0;
        triage.Remote = (_, _, _, _, _, _) =>
        {
            minimizations++;
            return null;
        };
        var verdicts = Enumerable.Range(0, CrashTriage.MaxMinimizationsPerKey + 2).Select(_ => triage.Triage(Crash(), CancellationToken.None).Verdict).ToList();

        Assert.Equal(CrashTriage.MaxMinimizationsPerKey, minimizations);
        Assert.Equal([TriageVerdict.Filed, .. Enumerable.Repeat(TriageVerdict.Duplicate, CrashTriage.MaxMinimizationsPerKey + 1)], verdicts);
        Assert.Equal(CrashTriage.MaxMinimizationsPerKey + 2, Assert.Single(triage.Filed).Hits);
    }

    [Fact]
    public void A_new_triage_knows_the_crashes_filed_in_its_directory()
    {
        string signature;
        using (var before = NewTriage()) signature = before.Triage(Crash(), CancellationToken.None).Signature!;

        using var after = NewTriage();
        Assert.Equal(1, after.Unique);
        var again = after.Triage(Crash(), CancellationToken.None);
        Assert.Equal(TriageVerdict.Duplicate, again.Verdict);
        Assert.Equal(signature, again.Signature);
    }

    [Fact]
    public void Submitted_crashes_are_triaged_in_order_on_the_triage_thread()
    {
        using var triage = NewTriage();
        var seen = new List<TriageVerdict>();
        var done = new List<TriageVerdict>();
        triage.Triaged += o => { lock (seen) seen.Add(o.Verdict); };
        triage.Start();
        Assert.True(triage.Submit(Crash(), o => { lock (done) done.Add(o.Verdict); }));
        Assert.True(triage.Submit(Crash(), o => { lock (done) done.Add(o.Verdict); }));
        triage.Stop(TimeSpan.FromMinutes(1));

        Assert.Equal([TriageVerdict.Filed, TriageVerdict.Duplicate], seen);
        Assert.Equal(seen, done);
        Assert.False(triage.Submit(Crash()));
    }
}
