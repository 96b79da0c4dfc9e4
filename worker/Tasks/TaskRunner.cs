using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Hashing;
using Fuzz.Engine.Minimization;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.Wire;

namespace Fuzz.Worker.Tasks;

/// <summary>Runs farm tasks: replaying a chunk of corpus entries and crashes, minimising a crash.</summary>
public sealed class TaskRunner(ITargetFactory factory)
{
    private readonly Dictionary<string, Replayer> _replayers = new(StringComparer.Ordinal);

    public TaskResult Run(FarmTask task, CancellationToken cancel)
    {
        var result = new TaskResult { TaskId = task.Id };
        if (factory.Describe(task.Target) is null)
        {
            result.Failed = $"unknown target '{task.Target}'";
            return result;
        }
        switch (task.KindCase)
        {
            case FarmTask.KindOneofCase.Replay:
                result.Replay = Replay(task.Target, task.Bugs, task.Replay.Items, cancel);
                break;
            case FarmTask.KindOneofCase.Minimize:
                var m = Minimize(task.Target, task.Bugs, task.Minimize, cancel);
                if (m is null) result.Failed = "the input does not fail with the expected invariant and site";
                else result.Minimized = m;
                break;
            default:
                result.Failed = "unknown task kind";
                break;
        }
        return result;
    }

    public ReplayResults Replay(string target, IReadOnlyCollection<string> bugs, IEnumerable<ReplayItem> items, CancellationToken cancel)
    {
        string key = string.Join('+', bugs.Order(StringComparer.Ordinal).Prepend(target));
        if (!_replayers.TryGetValue(key, out var replayer)) _replayers[key] = replayer = new Replayer(factory, target, bugs);
        var results = new ReplayResults();
        var union = new SortedSet<uint>();
        foreach (var item in items)
        {
            cancel.ThrowIfCancellationRequested();
            var data = item.Data.ToByteArray();
            var (r, features) = replayer.Run(data);
            var v = new ReplayVerdict
            {
                Name = item.Name, Kind = item.Kind, Violation = r.Violation is not null, FeatureCount = (uint)features.Length, FeatureHash = Fnv1a.Hash(features),
            };
            if (r.Violation is { } violation)
            {
                v.Key = violation.Key.ToWire();
                v.Detail = violation.Detail;
                var program = replayer.Target.Codec.Decode(data);
                v.Signature = CrashSignature.Compute(violation.Key, program, r.Preemptions, replayer.Target.Vocabulary);
            }
            else union.UnionWith(features);
            results.Verdicts.Add(v);
        }
        results.Features.AddRange(union);
        return results;
    }

    public Minimized? Minimize(string target, IReadOnlyCollection<string> bugs, MinimizeCrash task, CancellationToken cancel)
    {
        var t = factory.Create(target, bugs);
        var input = task.Input.ToByteArray();
        var program = t.Codec.Decode(input);
        var first = t.ExecuteSafely(program);
        if (first.Key is not { } key || key != WireTypes.FromWire(task.Key)) return null;
        var m = CrashReplay.MinimizerFor(t).Minimize(program, TimeSpan.FromSeconds(Math.Clamp(task.BudgetSeconds, 0.1, 3600)), cancel);
        return new Minimized
        {
            Input = task.Input, MinimizedInput = Google.Protobuf.ByteString.CopyFrom(t.Codec.Encode(m.Minimized)), Key = m.Key.ToWire(),
            Before = m.Before.ToWire(), After = m.After.ToWire(), Seconds = m.Elapsed.TotalSeconds, Executions = (uint)m.Executions, TimedOut = m.TimedOut,
        };
    }

}
