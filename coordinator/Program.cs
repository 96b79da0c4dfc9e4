using Fuzz.Coordinator.Commands;

return Cli.Build().Parse(args).Invoke();
