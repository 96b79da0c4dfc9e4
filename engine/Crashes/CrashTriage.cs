using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Minimization;
using Fuzz.Engine.Storage;

namespace Fuzz.Engine.Crashes;

public sealed record CrashReport(
    string Signature, string Target, IReadOnlyList<string> Bugs, int Invariant, string InvariantName, string Site, string Detail,
    string Shape, string Actor, string Operation, long Step, ProgramShape Before, ProgramShape After, double MinimizeSeconds,
    int MinimizeExecutions, bool MinimizeTimedOut, long FoundAtExec, double FoundAtSeconds, int Hits, string Repro, CrashKey? Key = null, string FoundBy = "");

/// <summary>A crash handed to triage: its input, the invariant and site it failed with where it was found, and who found it.</summary>
public sealed record CrashSubmission(byte[] Input, CrashKey Key, long Exec, double Seconds, string FoundBy = "")
{
    public static CrashSubmission From(CrashFound c, string foundBy = "") => new(c.Input, c.Violation.Key, c.Exec, c.Elapsed.TotalSeconds, foundBy);
}

/// <summary>Minimisation done elsewhere (e.g. by a worker); null = not available, minimise here.</summary>
public delegate MinimizeResult? RemoteMinimizer(IFuzzTarget target, byte[] input, ProgramInput program, CrashKey key, TimeSpan budget, CancellationToken cancel);

public enum TriageVerdict { Filed, Duplicate, NotReproduced }

public sealed record TriageOutcome(TriageVerdict Verdict, string? Signature, CrashReport? Report, CrashKey? Key);

/// <summary>
/// Turns raw crashes into filed ones: re-run on a clean model (a crash that does not reproduce is
/// counted, not filed), minimise, sign, dedup by signature, and write
/// crashes/&lt;signature&gt;/{input,minimized,trace.txt,report.json,report.md}. Runs on its own thread.
/// </summary>
public sealed class CrashTriage : IDisposable
{
    public const int MaxMinimizationsPerKey = 3;

    private readonly ITargetFactory _factory;
    private readonly string _target;
    private readonly IReadOnlyCollection<string> _bugs;
    private readonly TimeSpan _budget;
    private readonly BlockingCollection<(CrashSubmission Crash, Action<TriageOutcome>? Done)> _queue = new();
    private readonly Dictionary<string, CrashReport> _filed = new(StringComparer.Ordinal);
    private readonly Dictionary<CrashKey, (int Minimized, string? First)> _keys = new();
    private readonly CancellationTokenSource _abort = new();
    private Thread? _thread;
    private int _duplicates, _notReproduced;

    public CrashTriage(ITargetFactory factory, string target, IReadOnlyCollection<string> bugs, string crashesDir, TimeSpan minimizeBudget)
    {
        _factory = factory;
        _target = target;
        _bugs = bugs;
        CrashesDir = crashesDir;
        _budget = minimizeBudget;
        Directory.CreateDirectory(crashesDir);
        foreach (var dir in Directory.GetDirectories(crashesDir).Order(StringComparer.Ordinal))
        {
            string json = Path.Combine(dir, "report.json");
            try
            {
                if (File.Exists(json) && JsonSerializer.Deserialize<CrashReport>(File.ReadAllBytes(json)) is { } r)
                {
                    _filed[r.Signature] = r;
                    if (r.Key is not null)
                    {
                        var k = _keys.GetValueOrDefault(r.Key);
                        _keys[r.Key] = (k.Minimized + 1, k.First ?? r.Signature);
                    }
                }
            }
            catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException) { }
        }
    }

    public string CrashesDir { get; }
    public event Action<TriageOutcome>? Triaged;

    /// <summary>When set, asked first to minimise each crash.</summary>
    public RemoteMinimizer? Remote { get; set; }

    public int Unique { get { lock (_filed) return _filed.Count; } }
    public int Duplicates => Volatile.Read(ref _duplicates);
    public int NotReproduced => Volatile.Read(ref _notReproduced);
    public int Pending => _queue.Count;

    /// <summary>A crash taken off the queue is being triaged.</summary>
    public bool Busy => Volatile.Read(ref _busy) != 0;
    private int _busy;

    public IReadOnlyList<CrashReport> Filed
    {
        get { lock (_filed) return _filed.Values.OrderBy(r => r.Signature, StringComparer.Ordinal).ToList(); }
    }

    public void Start()
    {
        _thread = new Thread(() =>
        {
            foreach (var (c, done) in _queue.GetConsumingEnumerable())
            {
                if (_abort.IsCancellationRequested) { SaveUntriaged(c); continue; }
                TriageOutcome o;
                Volatile.Write(ref _busy, 1);
                try
                {
                    o = Triage(c, _abort.Token);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    SaveUntriaged(c);
                    continue;
                }
                finally
                {
                    Volatile.Write(ref _busy, 0);
                }
                Triaged?.Invoke(o);
                done?.Invoke(o);
            }
        }) { Name = "crash triage", IsBackground = true };
        _thread.Start();
    }

    public void Submit(CrashFound c) => Submit(CrashSubmission.From(c));

    /// <summary>Queues a crash; <paramref name="done"/> runs once it is filed, found a duplicate or not reproduced (not if triage stops first).</summary>
    public bool Submit(CrashSubmission c, Action<TriageOutcome>? done = null)
    {
        try
        {
            _queue.Add((c, done));
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Stops taking crashes and triages what is queued; after <paramref name="drain"/>, the rest is saved unminimised.</summary>
    public void Stop(TimeSpan drain)
    {
        _queue.CompleteAdding();
        if (_thread is null) return;
        if (!_thread.Join(drain))
        {
            _abort.Cancel();
            _thread.Join();
        }
    }

    public void Dispose()
    {
        Stop(TimeSpan.Zero);
        _queue.Dispose();
        _abort.Dispose();
    }

    /// <summary>Triage one crash now, on the calling thread.</summary>
    public TriageOutcome Triage(CrashSubmission c, CancellationToken cancel)
    {
        var target = _factory.Create(_target, _bugs);
        var program = target.Codec.Decode(c.Input);
        var first = target.ExecuteSafely(program);
        if (first.Violation is not { } v)
        {
            Interlocked.Increment(ref _notReproduced);
            return new TriageOutcome(TriageVerdict.NotReproduced, null, null, null);
        }
        var key = v.Key;
        if (key != c.Key)
        {
            Interlocked.Increment(ref _notReproduced);
            return new TriageOutcome(TriageVerdict.NotReproduced, null, null, key);
        }
        lock (_filed)
        {
            var k = _keys.GetValueOrDefault(key);
            if (k.Minimized >= MaxMinimizationsPerKey && k.First is { } known)
            {
                _duplicates++;
                _filed[known] = _filed[known] with { Hits = _filed[known].Hits + 1 };
                return new TriageOutcome(TriageVerdict.Duplicate, known, _filed[known], key);
            }
            _keys[key] = (k.Minimized + 1, k.First);
        }
        var (m, final, sig) = MinimizeAndSign(target, c.Input, program, key, cancel);
        var fv = final.Violation!;
        lock (_filed)
        {
            if (_keys[key].First is null) _keys[key] = (_keys[key].Minimized, sig);
            if (_filed.TryGetValue(sig, out var existing))
            {
                _duplicates++;
                _filed[sig] = existing with { Hits = existing.Hits + 1 };
                WriteReport(_filed[sig], null);
                return new TriageOutcome(TriageVerdict.Duplicate, sig, _filed[sig], key);
            }
        }
        var report = new CrashReport(sig, _target, _bugs.Order(StringComparer.Ordinal).ToList(), fv.Id, fv.InvariantName, fv.Site, fv.Detail,
            CrashSignature.Shape(m.Minimized, final.Preemptions, target.Vocabulary), fv.Actor, fv.Operation, fv.Step, m.Before, m.After,
            m.Elapsed.TotalSeconds, m.Executions, m.TimedOut, c.Exec, c.Seconds, 1,
            $"fuzz repro --target {_target}{string.Concat(_bugs.Order(StringComparer.Ordinal).Select(b => $" --bug {b}"))} {Path.Combine(CrashesDir, sig, "minimized")}",
            key, c.FoundBy);
        string dir = Path.Combine(CrashesDir, sig);
        Directory.CreateDirectory(dir);
        AtomicFile.Write(Path.Combine(dir, "input"), c.Input);
        byte[] minimized = target.Codec.Encode(m.Minimized);
        AtomicFile.Write(Path.Combine(dir, "minimized"), minimized);
        string trace = target.Explain(m.Minimized);
        AtomicFile.WriteText(Path.Combine(dir, "trace.txt"), trace);
        lock (_filed) _filed[sig] = report;
        WriteReport(report, (target.Codec.Describe(program), target.Codec.Describe(m.Minimized), trace));
        return new TriageOutcome(TriageVerdict.Filed, sig, report, key);
    }

    /// <summary>A minimisation from <see cref="Remote"/> is used when its result still fails with the same key; otherwise minimise here.</summary>
    private (MinimizeResult, ExecResult, string) MinimizeAndSign(IFuzzTarget target, byte[] input, ProgramInput program, CrashKey key, CancellationToken cancel)
    {
        if (Remote?.Invoke(target, input, program, key, _budget, cancel) is { } remote)
        {
            var final = target.ExecuteSafely(remote.Minimized);
            if (final.Key == key)
                return (remote, final, CrashSignature.Compute(key, remote.Minimized, final.Preemptions, target.Vocabulary));
        }
        return CrashReplay.MinimizeAndSign(target, program, _budget, cancel);
    }

    /// <summary>
    /// Takes a crash filed by another coordinator: its files are written here (if missing) and its
    /// signature counts as known. False when it was known already.
    /// </summary>
    public bool Adopt(CrashReport report, byte[] input, byte[] minimized, string trace, string reportMarkdown)
    {
        lock (_filed)
        {
            if (_filed.ContainsKey(report.Signature)) return false;
            _filed[report.Signature] = report;
            if (report.Key is not null)
            {
                var k = _keys.GetValueOrDefault(report.Key);
                _keys[report.Key] = (k.Minimized + 1, k.First ?? report.Signature);
            }
        }
        string dir = Path.Combine(CrashesDir, report.Signature);
        Directory.CreateDirectory(dir);
        AtomicFile.Write(Path.Combine(dir, "input"), input);
        AtomicFile.Write(Path.Combine(dir, "minimized"), minimized);
        AtomicFile.WriteText(Path.Combine(dir, "trace.txt"), trace);
        if (reportMarkdown.Length > 0) AtomicFile.WriteText(Path.Combine(dir, "report.md"), reportMarkdown);
        WriteReport(report, null);
        return true;
    }

    /// <summary>Rewrites the hit count of every filed crash (their report.json) at the end of a run.</summary>
    public void Flush()
    {
        lock (_filed)
            foreach (var r in _filed.Values) WriteReport(r, null);
    }

    private void WriteReport(CrashReport r, (string Original, string Minimized, string Trace)? text)
    {
        string dir = Path.Combine(CrashesDir, r.Signature);
        if (!Directory.Exists(dir)) return;
        AtomicFile.Write(Path.Combine(dir, "report.json"), JsonSerializer.SerializeToUtf8Bytes(r, new JsonSerializerOptions { WriteIndented = true }));
        if (text is not { } t) return;
        var md = new StringBuilder();
        md.AppendLine($"# {r.Signature}: invariant {r.Invariant} ({r.InvariantName})");
        md.AppendLine();
        md.AppendLine($"- **target**: `{r.Target}`, bugs: {(r.Bugs.Count > 0 ? string.Join(", ", r.Bugs.Select(b => $"`{b}`")) : "none")}");
        md.AppendLine($"- **detected at**: `{r.Site}` by {r.Actor} in `{r.Operation}`, step {r.Step}");
        md.AppendLine($"- **what broke**: {r.Detail}");
        md.AppendLine($"- **shape**: `{r.Shape}`");
        md.AppendLine($"- **found**: execution {r.FoundAtExec:N0}, {r.FoundAtSeconds:F1} s into the run");
        md.AppendLine($"- **reproduce**: `{r.Repro}`");
        md.AppendLine();
        md.AppendLine("| | ops | threads | preemptions | context switches | steps |");
        md.AppendLine("|---|---|---|---|---|---|");
        md.AppendLine($"| found | {r.Before.Ops} | {r.Before.Threads} | {r.Before.Preemptions} | {r.Before.ContextSwitches} | {r.Before.Steps} |");
        md.AppendLine($"| minimised | {r.After.Ops} | {r.After.Threads} | {r.After.Preemptions} | {r.After.ContextSwitches} | {r.After.Steps} |");
        md.AppendLine();
        md.AppendLine($"Minimised in {r.MinimizeSeconds:F2} s ({r.MinimizeExecutions} executions{(r.MinimizeTimedOut ? ", stopped by the time budget" : "")}).");
        md.AppendLine();
        md.AppendLine("## Minimised program and timeline");
        md.AppendLine();
        md.AppendLine("```");
        md.Append(t.Trace);
        md.AppendLine("```");
        md.AppendLine();
        md.AppendLine("## Program as found");
        md.AppendLine();
        md.AppendLine("```");
        md.Append(t.Original);
        md.AppendLine("```");
        AtomicFile.WriteText(Path.Combine(dir, "report.md"), md.ToString());
    }

    private void SaveUntriaged(CrashSubmission c)
    {
        string dir = Path.Combine(CrashesDir, "untriaged");
        Directory.CreateDirectory(dir);
        AtomicFile.Write(Path.Combine(dir, CorpusStore.NameOf(c.Input)), c.Input);
    }
}
