using System.Text.Json;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Storage;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.Wire;
using Google.Protobuf;

namespace Fuzz.Coordinator.Farm;

/// <summary>
/// Crashes from the workers: kept as received, triaged (re-verified, deduplicated by crash key,
/// minimised, reported) and appended to the crash log once filed; crashes another coordinator
/// filed are learnt from that log.
/// </summary>
internal sealed class CrashIntake : IDisposable
{
    private readonly CoordinatorOptions _options;
    private readonly ITransport _transport;
    private readonly EnvelopeFactory _envelopes;
    private readonly RejectionCounts _rejected;
    private readonly CancellationTokenSource _stop;
    private readonly Action<string> _log;
    private long _received;

    public CrashIntake(CoordinatorOptions options, ITargetFactory factory, ITransport transport, EnvelopeFactory envelopes, RejectionCounts rejected,
        RemoteMinimizer? remote, CancellationTokenSource stop, Action<string> log)
    {
        _options = options;
        _transport = transport;
        _envelopes = envelopes;
        _rejected = rejected;
        _stop = stop;
        _log = log;
        Triage = new CrashTriage(factory, options.Target, options.Bugs, Path.Combine(options.WorkDir, "crashes"), options.MinimizeBudget);
        Triage.Remote = remote;
        Triage.Triaged += OnTriaged;
    }

    public CrashTriage Triage { get; }
    public long Received => Interlocked.Read(ref _received);

    public Task OnCrashRecord(LogRecord record)
    {
        var why = FarmWire.TryDecode(record.Body.Span, Envelope.BodyOneofCase.FiledCrash, out var env);
        if (why != Rejection.None)
        {
            _rejected.Add(why);
            return Task.CompletedTask;
        }
        if (env.Campaign != _envelopes.Campaign) return Task.CompletedTask;
        var f = env.FiledCrash;
        try
        {
            if (JsonSerializer.Deserialize<CrashReport>(f.ReportJson) is { } report && report.Signature == f.Signature &&
                Triage.Adopt(report, f.Input.ToByteArray(), f.MinimizedInput.ToByteArray(), f.Trace, f.ReportMd))
                _log($"crash {f.Signature} learnt from the crash log");
        }
        catch (JsonException)
        {
            _rejected.Add(Rejection.Garbage);
        }
        return Task.CompletedTask;
    }

    /// <summary>A crash from a worker, acknowledged once triage is done with it.</summary>
    public void OnCrash(string sender, Crash crash, IDelivery d)
    {
        Interlocked.Increment(ref _received);
        var input = crash.Input.ToByteArray();
        string received = Path.Combine(_options.WorkDir, "crashes-received");
        Directory.CreateDirectory(received);
        AtomicFile.Write(Path.Combine(received, CorpusStore.NameOf(input)), input);
        if (WireTypes.FromWire(crash.Key) is not { } key)
        {
            _log($"a crash from {sender} carries no key: dropped");
            _ = d.AckAsync();
            return;
        }
        var submission = new CrashSubmission(input, key, crash.FoundAtExec, crash.FoundAtSeconds, sender);
        Triage.Submit(submission, outcome => { _ = d.AckAsync(); });
    }

    private void OnTriaged(TriageOutcome o)
    {
        if (o.Verdict == TriageVerdict.NotReproduced) _log($"a crash did not reproduce on a clean model ({o.Key})");
        if (o.Verdict != TriageVerdict.Filed || o.Report is not { } r) return;
        _log($"filed {r.Signature}: {r.Detail} | minimised {r.Before.Ops}->{r.After.Ops} ops, {r.Before.Threads}->{r.After.Threads} threads, {r.Before.Preemptions}->{r.After.Preemptions} preemptions in {r.MinimizeSeconds:F1}s");
        string dir = Path.Combine(Triage.CrashesDir, r.Signature);
        try
        {
            var env = _envelopes.New();
            env.FiledCrash = new FiledCrash
            {
                Signature = r.Signature, ReportJson = File.ReadAllText(Path.Combine(dir, "report.json")),
                Input = ByteString.CopyFrom(File.ReadAllBytes(Path.Combine(dir, "input"))), MinimizedInput = ByteString.CopyFrom(File.ReadAllBytes(Path.Combine(dir, "minimized"))),
                Trace = File.ReadAllText(Path.Combine(dir, "trace.txt")), ReportMd = File.Exists(Path.Combine(dir, "report.md")) ? File.ReadAllText(Path.Combine(dir, "report.md")) : "",
            };
            _transport.AppendAsync(Topology.Crashes, FarmWire.Encode(env), _stop.Token).Wait(_stop.Token);
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or AggregateException or ObjectDisposedException)
        {
            _log($"could not append {r.Signature} to the crash log: {e.Message}");
        }
    }

    public void Dispose() => Triage.Dispose();
}
