using System.Collections.Concurrent;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Input;
using Fuzz.Engine.Minimization;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.Wire;
using Google.Protobuf;

namespace Fuzz.Coordinator.Farm;

/// <summary>Tasks published to the workers, each waited for until its result comes back on the events queue.</summary>
internal sealed class TaskDispatch(CoordinatorOptions options, ITransport transport, EnvelopeFactory envelopes, WorkerRegistry workers)
{
    private readonly ConcurrentDictionary<string, TaskCompletionSource<Minimized?>> _pending = new(StringComparer.Ordinal);
    private long _sent;

    public long TasksSent => Interlocked.Read(ref _sent);

    /// <summary>A result from a worker; one for no task still waited for is dropped.</summary>
    public void Complete(TaskResult result)
    {
        if (_pending.TryRemove(result.TaskId, out var pending))
            pending.TrySetResult(result.KindCase == TaskResult.KindOneofCase.Minimized ? result.Minimized : null);
    }

    /// <summary>The triage thread's minimiser: a task for the workers, waited for; null (minimise here) when no worker is alive or it times out.</summary>
    public MinimizeResult? MinimizeOnWorker(IFuzzTarget target, byte[] input, ProgramInput program, CrashKey key, TimeSpan budget, CancellationToken cancel)
    {
        if (!workers.All.Any(w => w.State == WorkerState.Alive)) return null;
        string id = $"minimize-{Guid.NewGuid():N}";
        var tcs = new TaskCompletionSource<Minimized?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = tcs;
        var env = envelopes.New();
        env.Task = new FarmTask
        {
            Id = id, ReplyTo = Topology.Events, Target = options.Target, Bugs = { options.Bugs },
            Minimize = new MinimizeCrash { Input = ByteString.CopyFrom(input), Key = key.ToWire(), BudgetSeconds = budget.TotalSeconds },
        };
        try
        {
            transport.PublishAsync(Topology.Tasks, FarmWire.Encode(env), cancel).Wait(cancel);
            Interlocked.Increment(ref _sent);
            if (!tcs.Task.Wait(budget * 3 + TimeSpan.FromSeconds(30), cancel) || tcs.Task.Result is not { } m) return null;
            var minimized = target.Codec.Decode(m.MinimizedInput.ToByteArray());
            if (WireTypes.FromWire(m.Key) != key) return null;
            return new MinimizeResult(program, minimized, key, WireTypes.FromWire(m.Before), WireTypes.FromWire(m.After), (int)m.Executions, TimeSpan.FromSeconds(m.Seconds), m.TimedOut);
        }
        catch (Exception e) when (e is OperationCanceledException or AggregateException or ObjectDisposedException)
        {
            return null;
        }
        finally
        {
            _pending.TryRemove(id, out _);
        }
    }
}
