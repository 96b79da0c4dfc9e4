using System.Collections.Concurrent;
using System.Diagnostics;

namespace Fuzz.Tests.Farm;

/// <summary>A real `fuzz` process (the built command line), its output collected line by line.</summary>
public sealed class FuzzProcess : IDisposable
{
    private readonly Process _p;
    private readonly ConcurrentQueue<string> _lines = new();

    public FuzzProcess(string name, params string[] args)
    {
        Name = name;
        var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "fuzz.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        _p = Process.Start(psi)!;
        _p.OutputDataReceived += (_, e) => { if (e.Data is { } l) _lines.Enqueue(l); };
        _p.ErrorDataReceived += (_, e) => { if (e.Data is { } l) _lines.Enqueue("stderr: " + l); };
        _p.BeginOutputReadLine();
        _p.BeginErrorReadLine();
    }

    public string Name { get; }
    public int Pid => _p.Id;
    public bool Exited => _p.HasExited;
    public IReadOnlyList<string> Lines => _lines.ToArray();
    public string Output => string.Join('\n', _lines);

    public async Task<string> WaitForLine(Func<string, bool> match, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_lines.FirstOrDefault(match) is { } l) return l;
            if (_p.HasExited && _lines.FirstOrDefault(match) is null)
                throw new InvalidOperationException($"{Name} exited ({_p.ExitCode}) before {what}:\n{Output}");
            await Task.Delay(20);
        }
        throw new TimeoutException($"{Name}: no {what} within {timeout.TotalSeconds}s:\n{Output}");
    }

    /// <summary>kill -9: no clean-up, no goodbye, unacked messages left with the broker.</summary>
    public void Kill9()
    {
        Process.Start("kill", ["-9", _p.Id.ToString()])!.WaitForExit();
        _p.WaitForExit(10_000);
    }

    /// <summary>Ctrl-C, then waits for a clean exit.</summary>
    public int Interrupt(TimeSpan timeout)
    {
        Process.Start("kill", ["-INT", _p.Id.ToString()])!.WaitForExit();
        if (!_p.WaitForExit(timeout)) throw new TimeoutException($"{Name} did not stop after SIGINT:\n{Output}");
        _p.WaitForExit();
        return _p.ExitCode;
    }

    /// <summary>SIGTERM, then waits for the exit code.</summary>
    public int Terminate(TimeSpan timeout)
    {
        Process.Start("kill", ["-TERM", _p.Id.ToString()])!.WaitForExit();
        if (!_p.WaitForExit(timeout)) throw new TimeoutException($"{Name} did not stop after SIGTERM:\n{Output}");
        _p.WaitForExit();
        return _p.ExitCode;
    }

    public void Dispose()
    {
        if (!_p.HasExited)
            try { _p.Kill(entireProcessTree: true); _p.WaitForExit(10_000); } catch (InvalidOperationException) { }
        _p.Dispose();
    }
}
