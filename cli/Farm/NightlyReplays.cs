using Fuzz.Coordinator.Replay;
using Fuzz.Engine.Fuzzing;
using Fuzz.Worker.Tasks;

namespace Fuzz.Cli.Farm;

/// <summary>The nightly replay, replaying the chunks it keeps here as a worker replays a task.</summary>
public static class NightlyReplays
{
    public static NightlyReplay Create(ITargetFactory factory, string target, IReadOnlyCollection<string> bugs) =>
        new(target, bugs, () =>
        {
            var runner = new TaskRunner(factory);
            return (items, cancel) => runner.Replay(target, bugs, items, cancel);
        });
}
