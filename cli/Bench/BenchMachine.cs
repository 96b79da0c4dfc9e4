using System.Diagnostics;

namespace Fuzz.Cli.Bench;

/// <summary>What every bench prints about where it ran: the machine and the commit of the working directory.</summary>
internal static class BenchMachine
{
    /// <summary>Host name, cores, OS and runtime.</summary>
    public static string Host =>
        $"{Environment.MachineName}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";

    /// <summary>The host and the short commit, as the benches' first line prints it.</summary>
    public static string Describe() => $"{Host}, commit {Git("rev-parse --short HEAD")}";

    /// <summary><c>git rev-parse HEAD</c> in the working directory, or "unknown" outside a repository or without git.</summary>
    public static string Commit() => Git("rev-parse HEAD");

    private static string Git(string args)
    {
        try
        {
            var p = Process.Start(new ProcessStartInfo("git", args) { RedirectStandardOutput = true, RedirectStandardError = true });
            string s = p!.StandardOutput.ReadToEnd().Trim();
            p.WaitForExit();
            return p.ExitCode == 0 && s.Length > 0 ? s : "unknown";
        }
        catch (Exception) { return "unknown"; }
    }
}
