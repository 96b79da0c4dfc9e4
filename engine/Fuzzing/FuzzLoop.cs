using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Fuzzing;

/// <summary>
/// One fuzz loop on one thread: make an input (mutated or generated), pick its schedule, run it on
/// a fresh model, read its features, keep it if it added any, report it if it broke an invariant.
/// </summary>
public sealed class FuzzLoop
{
    private readonly FuzzSession _session;
    private readonly ProgramCodec _codec;
    private readonly InstrumentedTarget _instrumented;
    private readonly Feedback.Feedback _feedback;
    private readonly IInputSource _inputs;
    private readonly IScheduleSource _schedules;
    private readonly List<uint> _fresh = new(64);
    private SplitMix64 _rng;
    private long _execs;

    internal FuzzLoop(FuzzSession session, int id)
    {
        _session = session;
        Id = id;
        var opts = session.Options;
        _instrumented = new InstrumentedTarget(session.Factory, opts.Target, opts.Bugs);
        _feedback = _instrumented.Feedback;
        var target = _instrumented.Target;
        _codec = target.Codec;
        _inputs = opts.Strategy.Inputs switch
        {
            InputKind.Mutation => new CorpusMutation(session.Corpus, target.Vocabulary, opts),
            InputKind.Generation => new ProgramGeneration(target.Vocabulary, opts.GeneratedOps),
            var k => throw new ArgumentOutOfRangeException(nameof(session), k, "input kind"),
        };
        _schedules = opts.Strategy.Schedule switch
        {
            ScheduleKind.Input => new InputSchedule(),
            ScheduleKind.Random => new RandomSchedule(),
            ScheduleKind.Pct => new PctSchedule(),
            ScheduleKind.Portfolio => new PortfolioSchedule(),
            var k => throw new ArgumentOutOfRangeException(nameof(session), k, "schedule kind"),
        };
        _rng = new SplitMix64(opts.Seed * 0x9E3779B97F4A7C15UL + (ulong)id + 1);
    }

    public int Id { get; }

    /// <summary>When set, every executed input is appended (for side-by-side throughput measurement).</summary>
    public List<byte[]>? Recorder { get; set; }
    public long Execs => Volatile.Read(ref _execs);

    /// <summary>Runs one input outside the mutation loop (seeds, merge); returns the features it added.</summary>
    public int RunSeed(byte[] data)
    {
        var program = _codec.Decode(data);
        return Observe(program, Execute(program, null));
    }

    /// <summary>Fuzzes until cancelled or, with <paramref name="maxExecs"/>, until this loop has run that many inputs.</summary>
    public void Run(CancellationToken cancel, long maxExecs = long.MaxValue)
    {
        while (!cancel.IsCancellationRequested && _execs < maxExecs)
            for (int i = 0; i < 64 && _execs < maxExecs; i++) One();
    }

    private void One()
    {
        var program = _inputs.Next(ref _rng);
        var strategy = _schedules.Next(program, ref _rng);
        Recorder?.Add(_codec.Encode(program));
        int added = Observe(program, Execute(program, strategy));
        _inputs.Observed(added);
        _schedules.Observed(added);
    }

    private ExecResult Execute(ProgramInput program, IScheduleStrategy? strategy)
    {
        var r = _instrumented.Execute(program, strategy);
        _execs++;
        return r;
    }

    /// <summary>
    /// A crash is reported; otherwise the input is kept if it added features. Either way it is saved
    /// with the schedule it actually ran, so it replays exactly. Returns the features added.
    /// </summary>
    private int Observe(ProgramInput program, ExecResult r)
    {
        if (r.Violation is { } v)
        {
            _feedback.Clear();
            _session.ReportCrash(new CrashFound(_codec.Encode(program.WithChoices(r.Schedule)), v, Id, _execs, _session.Elapsed));
            return 0;
        }
        if (!_feedback.Read(_session.Features)) return 0;
        _fresh.Clear();
        int added = _session.Features.Add(_feedback.Words, _feedback.Bits, _fresh);
        if (added > 0) _session.Accept(_codec.Encode(program.WithChoices(r.Schedule)), _fresh.ToArray(), _execs, Id);
        return added;
    }
}
