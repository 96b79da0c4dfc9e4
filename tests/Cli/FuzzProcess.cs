using System.Diagnostics;

namespace Fuzz.Tests.Cli;

/// <summary>The built `fuzz` (fuzz.dll beside the tests) run as a process of its own, as a user runs it.</summary>
internal static class FuzzProcess
{
    public static (int Code, string Out, string Err) Run(string workingDirectory, TimeSpan timeout, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fuzz.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"fuzz {string.Join(' ', psi.ArgumentList.Skip(1))} did not exit within {timeout.TotalSeconds} s");
        }
        return (p.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>The repository's root: the directory above the tests' output that holds Fuzz.sln.</summary>
    public static string RepoRoot
    {
        get
        {
            var d = new DirectoryInfo(AppContext.BaseDirectory);
            while (d is not null && !File.Exists(Path.Combine(d.FullName, "Fuzz.sln"))) d = d.Parent;
            return d!.FullName;
        }
    }
}
