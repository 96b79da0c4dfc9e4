using System.CommandLine;
using Fuzz.Cli.Commands;

// Commands handle Ctrl-C themselves so they can stop cleanly; no forced termination.
return Cli.Build().Parse(args).Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
