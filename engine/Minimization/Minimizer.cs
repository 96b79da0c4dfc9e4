using System.Diagnostics;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Scheduling;

namespace Fuzz.Engine.Minimization;

/// <summary>
/// Shrinks a failing program while it keeps failing with the same key: delta debugging over
/// threads, operations, arguments and configuration bits, then over the schedule (fewer
/// preemptions, fewer context switches, shortest choice stream), in rounds until one gains
/// nothing even with the deeper searches (the schedules within two departures from the serial one,
/// each operation dropped under those, every configuration), or the budget runs out. Every accepted
/// step is replayed from its own choice stream, so the result always reproduces. Deterministic:
/// only the budget cut-off depends on time.
/// </summary>
/// <remarks>
/// The schedule is steered on the assumption that the target spawns thread t as actor t; the
/// assumption only guides the search, it is never needed for a result to be correct.
/// </remarks>
public sealed class Minimizer
{
    private readonly Vocabulary _vocab;
    private readonly Func<ProgramInput, IScheduleStrategy?, ExecResult> _run;

    /// <param name="run">Replays a program under a strategy, or under its own choice stream when the strategy is null.</param>
    public Minimizer(Vocabulary vocab, Func<ProgramInput, IScheduleStrategy?, ExecResult> run)
    {
        _vocab = vocab;
        _run = run;
    }

    /// <summary>
    /// Minimises <paramref name="crash"/>, which must fail when replayed from its own choices. Stops
    /// early, with <see cref="MinimizeResult.TimedOut"/> set and the best program so far, when the
    /// budget is spent or <paramref name="cancel"/> is signalled.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="crash"/> does not fail.</exception>
    public MinimizeResult Minimize(ProgramInput crash, TimeSpan budget, CancellationToken cancel = default) =>
        new Session(this, budget, cancel).Run(crash);

    /// <summary>Lexicographic preference among failing programs: smaller is better.</summary>
    private readonly record struct Rank(
        int Ops, int Threads, int Spawned, int Preemptions, long Steps, int ContextSwitches, int ArgSum, int Config, int Choices)
        : IComparable<Rank>
    {
        public int CompareTo(Rank o)
        {
            int c = Ops.CompareTo(o.Ops);
            if (c == 0) c = Threads.CompareTo(o.Threads);
            if (c == 0) c = Spawned.CompareTo(o.Spawned);
            if (c == 0) c = Preemptions.CompareTo(o.Preemptions);
            if (c == 0) c = Steps.CompareTo(o.Steps);
            if (c == 0) c = ContextSwitches.CompareTo(o.ContextSwitches);
            if (c == 0) c = ArgSum.CompareTo(o.ArgSum);
            if (c == 0) c = Config.CompareTo(o.Config);
            if (c == 0) c = Choices.CompareTo(o.Choices);
            return c;
        }

        public static bool operator <(Rank a, Rank b) => a.CompareTo(b) < 0;
        public static bool operator >(Rank a, Rank b) => a.CompareTo(b) > 0;
    }

    /// <summary>
    /// A failing program whose choices are its recorded schedule without the trailing decisions an
    /// exhausted stream makes anyway, with what each decision saw (for steering edits).
    /// </summary>
    private sealed record State(ProgramInput Program, ExecResult Outcome, int[] Currents, int[] Counts, byte[] Picks, int[] Picked, Rank Rank);

    private sealed class BudgetSpent : Exception;

    /// <summary>Most schedules one search tries (one candidate program, or the current one in the schedule pass).</summary>
    private const int MaxSearchRuns = 5000;

    private sealed class Session
    {
        private readonly Minimizer _m;
        private readonly TimeSpan _budget;
        private readonly CancellationToken _cancel;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly List<State> _accepted = [];
        private CrashKey _key = null!;
        private State _best = null!;
        private int _executions;

        public Session(Minimizer m, TimeSpan budget, CancellationToken cancel)
        {
            _m = m;
            _budget = budget;
            _cancel = cancel;
        }

        public MinimizeResult Run(ProgramInput crash)
        {
            var first = Execute(crash, null, enforceBudget: false);
            if (!first.Failed) throw new ArgumentException("the program does not fail when replayed from its own choices", nameof(crash));
            _key = first.Key!;
            var before = ProgramShape.Of(crash, first);
            _best = new State(crash, first, [], [], [], [], RankOf(crash, first));
            _accepted.Add(_best);

            bool timedOut = false;
            try
            {
                Canonicalise(crash);
                for (int level = 0; level <= 2;)
                {
                    var start = _best.Rank;
                    Round(level);
                    level = _best.Rank < start ? 0 : level + 1;
                }
            }
            catch (BudgetSpent)
            {
                timedOut = true;
            }

            var (program, outcome) = FinalCheck(crash, first);
            return new MinimizeResult(crash, program, _key, before, ProgramShape.Of(program, outcome), _executions, _clock.Elapsed, timedOut);
        }

        /// <summary>
        /// Levels 0 and 1 run every pass; changed programs take the current schedule carried over, and
        /// at level 1 also every schedule one departure from the serial one. Level 2 runs the deep
        /// searches, each only while the ones before it gained nothing.
        /// </summary>
        private void Round(int level)
        {
            if (level == 2)
            {
                var start = _best.Rank;
                SearchSchedules(2);
                if (_best.Rank < start) return;
                DropOpsDeep();
                if (_best.Rank < start) return;
                TryEveryConfig();
                return;
            }
            DropThreads(level);
            MergeThreads(level);
            DropOps(level);
            ShrinkArgs();
            ShrinkConfig(level);
            DropPreemptions();
            ReduceSwitches();
            SearchSchedules(level);
        }

        /// <summary>The newest accepted program that still replays to the key from its own choices.</summary>
        private (ProgramInput, ExecResult) FinalCheck(ProgramInput crash, ExecResult first)
        {
            for (int i = _accepted.Count - 1; i > 0; i--)
            {
                var o = Execute(_accepted[i].Program, null, enforceBudget: false);
                if (o.Failed && o.Key == _key) return (_accepted[i].Program, o);
            }
            return (crash, first);
        }

        private ExecResult Execute(ProgramInput p, IScheduleStrategy? strategy, bool enforceBudget = true)
        {
            if (enforceBudget && (_cancel.IsCancellationRequested || _clock.Elapsed > _budget)) throw new BudgetSpent();
            _executions++;
            return _m._run(p, strategy);
        }

        /// <summary>Replaces the choices by the recorded schedule of the failing run, so that every later edit starts from real decisions.</summary>
        private void Canonicalise(ProgramInput crash) => Adopt(Best(crash, [SteeredStrategy.ByIndex(crash.Choices)]), orEqual: true);

        // ---- candidates ----

        /// <summary>Runs <paramref name="p"/> under each strategy and returns the best run that fails with the key.</summary>
        private State? Best(ProgramInput p, IEnumerable<SteeredStrategy> strategies)
        {
            State? found = null;
            foreach (var s in strategies)
            {
                var o = Execute(p, s);
                if (!o.Failed || o.Key != _key) continue;
                var c = Canonical(p, o, s);
                if (found is null || c.Rank < found.Rank) found = c;
            }
            return found;
        }

        /// <summary>Adopts <paramref name="found"/> if it beats the current best and replays to the key from its own choices.</summary>
        private bool Adopt(State? found, bool orEqual = false)
        {
            if (found is null || !Improves(found.Rank, orEqual)) return false;
            var replay = Execute(found.Program, null);
            if (!replay.Failed || replay.Key != _key) return false;
            var verified = found with { Outcome = replay, Rank = RankOf(found.Program, replay) };
            if (!Improves(verified.Rank, orEqual)) return false;
            _best = verified;
            _accepted.Add(verified);
            return true;
        }

        private bool TryAdopt(ProgramInput p, params SteeredStrategy[] strategies) => Adopt(Best(p, strategies));

        /// <summary>
        /// A changed program: carry the current schedule over (by index, by actor) or run it serially;
        /// failing those, every schedule within <paramref name="depth"/> departures from the serial one.
        /// </summary>
        private bool TryChange(ProgramInput p, int depth, int[]? threadMap = null)
        {
            var actors = _best.Picked.Take(_best.Program.Choices.Length)
                .Select(a => threadMap is null || a >= threadMap.Length ? a : threadMap[a]).ToArray();
            var serial = SteeredStrategy.ByIndex([]);
            var found = Best(p, [SteeredStrategy.ByIndex(_best.Program.Choices), SteeredStrategy.ByActor(actors), serial]);
            if (found is null && depth > 0) found = Best(p, Deviations(serial, depth, MaxSearchRuns));
            return Adopt(found);
        }

        /// <summary>
        /// The schedules that depart from <paramref name="baseRun"/>'s (already run) at one decision,
        /// then, for depth 2, those that depart once more at a later decision; each departure picks
        /// another runnable actor than an exhausted stream would. At most <paramref name="limit"/> of them.
        /// </summary>
        private static IEnumerable<SteeredStrategy> Deviations(SteeredStrategy baseRun, int depth, int limit)
        {
            var once = new List<(int Decision, SteeredStrategy Run)>();
            foreach (var (k, j) in Departures(baseRun, 0))
            {
                if (once.Count >= limit) yield break;
                var s = SteeredStrategy.ByIndex([], editAt: k, editPick: j);
                once.Add((k, s));
                yield return s;
            }
            if (depth < 2) yield break;
            int yielded = once.Count;
            foreach (var (k, run) in once)
                foreach (var (k2, j2) in Departures(run, k + 1))
                {
                    if (yielded++ >= limit) yield break;
                    yield return SteeredStrategy.ByIndex([.. run.Picks.Take(k2), (byte)j2]);
                }
        }

        private static IEnumerable<(int Decision, int Pick)> Departures(SteeredStrategy run, int from)
        {
            var (currents, counts) = (run.Currents.ToArray(), run.Counts.ToArray());
            for (int k = from; k < currents.Length; k++)
                for (int j = 0; j < counts[k]; j++)
                    if (j != Math.Max(currents[k], 0)) yield return (k, j);
        }

        private bool Improves(Rank r, bool orEqual) => orEqual ? !(r > _best.Rank) : r < _best.Rank;

        private State Canonical(ProgramInput p, ExecResult o, SteeredStrategy s)
        {
            var picks = s.Picks.ToArray();
            int len = picks.Length;
            while (len > 0 && picks[len - 1] == Math.Max(s.Currents[len - 1], 0)) len--;
            var program = p.WithChoices(picks[..len]);
            return new State(program, o, [.. s.Currents], [.. s.Counts], picks, [.. s.Picked], RankOf(program, o));
        }

        // ---- threads ----

        private void DropThreads(int depth)
        {
            for (int t = _best.Program.Threads - 1; t >= 0 && _best.Program.Threads > 1; t--)
            {
                if (t >= _best.Program.Threads) continue;
                var (p, map) = Rethread(_best.Program, t, -1);
                TryChange(p, depth, map);
            }
        }

        /// <summary>Moves all operations of one thread onto another: interleaved in program order, after its own, or before them.</summary>
        private void MergeThreads(int depth)
        {
            for (int t = _best.Program.Threads - 1; t >= 0 && _best.Program.Threads > 1; t--)
                for (int into = 0; into < _best.Program.Threads && t < _best.Program.Threads; into++)
                {
                    if (into == t) continue;
                    var ops = _best.Program.Ops;
                    var mine = ops.Where(o => o.Thread == t).ToArray();
                    var rest = ops.Where(o => o.Thread != t).ToArray();
                    OpCall[][] orders = [ops, [.. rest, .. mine], [.. mine, .. rest]];
                    if (orders.Any(order =>
                        {
                            var (p, map) = Rethread(WithOps(_best.Program, order), t, into);
                            return TryChange(p, depth, map);
                        }))
                        break;
                }
        }

        /// <summary>Removes thread <paramref name="from"/>, its operations going to <paramref name="into"/> (or dropped when -1); later threads move down by one.</summary>
        private static (ProgramInput, int[]) Rethread(ProgramInput p, int from, int into)
        {
            var map = new int[p.Threads];
            for (int t = 0; t < p.Threads; t++) map[t] = t < from ? t : t - 1;
            map[from] = into < 0 ? -1 : map[into];
            var ops = p.Ops.Where(o => o.Thread < map.Length && map[o.Thread] >= 0).Select(o => o with { Thread = (byte)map[o.Thread] }).ToArray();
            return (new ProgramInput(p.Threads - 1, p.Config, ops, p.Choices), map);
        }

        // ---- operations ----

        /// <summary>ddmin over the operation list: chunks of halving size, from the end backwards.</summary>
        private void DropOps(int depth)
        {
            for (int size = Math.Max(1, _best.Program.Ops.Length / 2); ; size /= 2)
            {
                for (int end = _best.Program.Ops.Length; end > 0;)
                {
                    int start = Math.Max(0, end - size);
                    var ops = _best.Program.Ops;
                    var p = WithOps(_best.Program, [.. ops[..start], .. ops[end..]]);
                    TryChange(p, depth);
                    end = start;
                }
                if (size == 1) break;
            }
        }

        /// <summary>Once nothing else helps: each single operation dropped, searching schedules two departures deep.</summary>
        private void DropOpsDeep()
        {
            for (int i = _best.Program.Ops.Length - 1; i >= 0; i--)
            {
                if (i >= _best.Program.Ops.Length) continue;
                var ops = _best.Program.Ops;
                if (TryChange(WithOps(_best.Program, [.. ops[..i], .. ops[(i + 1)..]]), depth: 2)) return;
            }
        }

        // ---- arguments and configuration ----

        private void ShrinkArgs()
        {
            // One value used by several operations (the same slot, gfn, ...) first, all together.
            var shared = new List<(string Name, byte Value)>();
            foreach (var op in _best.Program.Ops)
            {
                var spec = _m._vocab.Ops[op.Op];
                for (int a = 0; a < spec.Args.Length; a++)
                    if (op.Arg(a) > 0 && !shared.Contains((spec.Args[a].Name, op.Arg(a)))) shared.Add((spec.Args[a].Name, op.Arg(a)));
            }
            foreach (var (name, value) in shared)
                foreach (byte to in Smaller(value))
                {
                    var ops = _best.Program.Ops.Select(op =>
                    {
                        var spec = _m._vocab.Ops[op.Op];
                        for (int a = 0; a < spec.Args.Length; a++)
                            if (spec.Args[a].Name == name && op.Arg(a) == value) op = WithArg(op, a, to);
                        return op;
                    }).ToArray();
                    if (ops.SequenceEqual(_best.Program.Ops)) break;
                    if (TryChange(WithOps(_best.Program, ops), depth: 0)) break;
                }

            for (int i = 0; i < _best.Program.Ops.Length; i++)
                for (int a = 0; a < _m._vocab.Ops[_best.Program.Ops[i].Op].Args.Length; a++)
                    foreach (byte to in Smaller(_best.Program.Ops[i].Arg(a)))
                    {
                        var ops = _best.Program.Ops.ToArray();
                        ops[i] = WithArg(ops[i], a, to);
                        if (TryChange(WithOps(_best.Program, ops), depth: 0)) break;
                    }
        }

        /// <summary>Candidate replacements for an argument value, smallest first.</summary>
        private static IEnumerable<byte> Smaller(byte v)
        {
            if (v == 0) yield break;
            yield return 0;
            if (v / 2 > 0) yield return (byte)(v / 2);
            if (v - 1 > v / 2) yield return (byte)(v - 1);
        }

        private void ShrinkConfig(int depth)
        {
            for (int bit = 5; bit >= 0; bit--)
            {
                var p = _best.Program;
                if ((p.Config & (1 << bit)) == 0) continue;
                TryChange(new ProgramInput(p.Threads, (byte)(p.Config & ~(1 << bit)), p.Ops, p.Choices), depth);
            }
        }

        /// <summary>Once nothing else helps: every other configuration, which may need fewer preemptions or steps.</summary>
        private void TryEveryConfig()
        {
            for (int config = 0; config < 64; config++)
            {
                var p = _best.Program;
                if (config != p.Config) TryChange(new ProgramInput(p.Threads, (byte)config, p.Ops, p.Choices), depth: 1);
            }
        }

        // ---- schedule ----

        /// <summary>At each preemption, try keeping the running actor instead (then following the rest of the stream, or nothing more).</summary>
        private void DropPreemptions()
        {
            for (int k = 0; k < _best.Currents.Length; k++)
            {
                int current = _best.Currents[k];
                if (current < 0 || _best.Picks[k] == current) continue;
                var choices = _best.Program.Choices;
                var actors = _best.Picked.Take(choices.Length).ToArray();
                if (TryAdopt(_best.Program,
                    SteeredStrategy.ByIndex(choices, editAt: k),
                    SteeredStrategy.ByIndex(choices, stopAt: k),
                    SteeredStrategy.ByIndex([.. choices[..k], .. choices[(k + 1)..]]),
                    SteeredStrategy.ByActor(actors, editAt: k)))
                    k--;
            }
        }

        /// <summary>At each decision that switches actors, try each other runnable actor.</summary>
        private void ReduceSwitches()
        {
            for (int k = 0; k < _best.Currents.Length; k++)
            {
                int current = _best.Currents[k], pick = _best.Picks[k];
                if (current >= 0 && pick == current) continue;
                var choices = _best.Program.Choices;
                for (int j = 0; j < _best.Counts[k]; j++)
                {
                    if (j == pick || j == current) continue;
                    if (TryAdopt(_best.Program,
                        SteeredStrategy.ByIndex(choices, editAt: k, editPick: j),
                        SteeredStrategy.ByIndex(choices, editAt: k, editPick: j, stopAt: k + 1)))
                        break;
                }
            }
        }

        /// <summary>Every schedule within <paramref name="depth"/> departures from the serial one, when the current schedule preempts at least that often.</summary>
        private void SearchSchedules(int depth)
        {
            if (depth == 0 || _best.Outcome.Preemptions < depth) return;
            var serial = SteeredStrategy.ByIndex([]);
            Adopt(Best(_best.Program, Deviations(serial, depth, MaxSearchRuns).Prepend(serial)));
        }

        // ---- helpers ----

        private static ProgramInput WithOps(ProgramInput p, OpCall[] ops) => new(p.Threads, p.Config, ops, p.Choices);

        private static OpCall WithArg(OpCall op, int a, byte v) => a switch
        {
            0 => op with { A0 = v },
            1 => op with { A1 = v },
            2 => op with { A2 = v },
            _ => op with { A3 = v },
        };

        private Rank RankOf(ProgramInput p, ExecResult o)
        {
            int argSum = 0;
            foreach (var op in p.Ops)
                for (int a = 0; a < _m._vocab.Ops[op.Op].Args.Length; a++) argSum += op.Arg(a);
            return new Rank(p.Ops.Length, p.ActiveThreads, p.Threads, o.Preemptions, o.Steps, o.ContextSwitches, argSum, p.Config, p.Choices.Length);
        }
    }
}
