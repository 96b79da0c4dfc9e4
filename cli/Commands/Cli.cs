using System.CommandLine;
using Fuzz.Cli.Bench;

namespace Fuzz.Cli.Commands;

public static class Cli
{
    public static RootCommand Build()
    {
        var root = new RootCommand("fuzz: a deterministic fuzzing farm for KVM MMU invariants");
        root.Subcommands.Add(RunCommand.Build());
        root.Subcommands.Add(CoordinatorCommand.Build());
        root.Subcommands.Add(WorkerCommand.Build());
        root.Subcommands.Add(ReplayCommand.Build());
        root.Subcommands.Add(ReproCommand.Build());
        root.Subcommands.Add(MinimizeCommand.Build());
        root.Subcommands.Add(TargetsCommand.Build());
        root.Subcommands.Add(EventsCommand.Build());
        root.Subcommands.Add(BenchCommand.Build());
        root.Subcommands.Add(InstrumentCommand.Build());
        return root;
    }
}
