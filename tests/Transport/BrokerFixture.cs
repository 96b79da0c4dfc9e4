using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Fuzz.Engine.Transport.RabbitMq;
using Xunit;

namespace Fuzz.Tests.Transport;

/// <summary>The tests that need a RabbitMQ broker share one, and run one at a time.</summary>
[CollectionDefinition("broker")]
public sealed class BrokerCollection : ICollectionFixture<BrokerFixture>;

/// <summary>
/// One throwaway RabbitMQ broker on 127.0.0.1 for the whole test run, started and stopped with
/// <c>scripts/broker</c>. Its base port is <c>FUZZ_TEST_BROKER_PORT</c> or the first free one
/// from 5791 on (in steps of 10, the script's spacing); its data lives in a directory of its own
/// under the temp directory, deleted at the end. Tests isolate themselves with a farm name each.
/// A cluster fixture derives from it with more nodes and another first port.
/// </summary>
public class BrokerFixture : IAsyncLifetime
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromMinutes(10);

    public BrokerFixture()
        : this(nodes: 1, firstPort: 5791, portVariable: "FUZZ_TEST_BROKER_PORT")
    {
    }

    protected BrokerFixture(int nodes, int firstPort, string portVariable)
    {
        Nodes = nodes;
        Port = Environment.GetEnvironmentVariable(portVariable) is { Length: > 0 } p ? int.Parse(p) : FreeBasePort(firstPort, nodes);
        Dir = Path.Combine(Path.GetTempPath(), $"fuzz-test-broker-{Port}-{Environment.ProcessId}");
        Script = Path.Combine(RepoRoot(), "scripts", "broker");
    }

    public int Nodes { get; }

    /// <summary>Node 1's AMQP port; node i listens on <c>Port + i - 1</c>.</summary>
    public int Port { get; }

    public string Dir { get; }

    public string Script { get; }

    /// <summary>The first node's URL.</summary>
    public Uri Url => new(Urls.Split(',')[0]);

    /// <summary>The last line <c>scripts/broker start</c> printed: every node's URL, comma-separated.</summary>
    public string Urls { get; private set; } = "";

    public async Task InitializeAsync()
    {
        try
        {
            await StartAsync();
        }
        catch
        {
            await RunScriptAsync("stop", "--clean");
            throw;
        }
    }

    public async Task DisposeAsync() => await RunScriptAsync("stop", "--clean");

    /// <summary>Starts the broker, or finds it running; its data survives a <see cref="StopAsync"/>.</summary>
    public async Task StartAsync()
    {
        var r = await RunScriptAsync("start", "--nodes", Nodes.ToString());
        string? last = r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        if (r.ExitCode != 0 || last is null)
            throw new InvalidOperationException($"scripts/broker start exited with {r.ExitCode}:\n{r.Stderr}");
        Urls = last;
    }

    public async Task StopAsync()
    {
        var r = await RunScriptAsync("stop");
        if (r.ExitCode != 0) throw new InvalidOperationException($"scripts/broker stop exited with {r.ExitCode}:\n{r.Stderr}");
    }

    /// <summary>Runs <c>scripts/broker</c> with <paramref name="args"/> on this broker (its port and directory are added).</summary>
    public async Task<ScriptResult> RunScriptAsync(params string[] args)
    {
        var psi = new ProcessStartInfo(Script)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args.Concat(["--port", Port.ToString(), "--dir", Dir])) psi.ArgumentList.Add(a);
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not run {Script}");
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ScriptTimeout);
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"scripts/broker {string.Join(' ', args)} took over {ScriptTimeout}");
        }
        return new ScriptResult(p.ExitCode, await stdout, await stderr);
    }

    /// <summary>Deletes a farm's queues and logs (test farms are many; quorum queues are not free).</summary>
    public async Task DeleteFarmAsync(string farm)
    {
        await using var t = new RabbitMqTransport(Url, farm);
        await t.ConnectAsync(CancellationToken.None);
        await t.DeleteTopologyAsync(CancellationToken.None);
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "Fuzz.sln")) && File.Exists(Path.Combine(d.FullName, "scripts", "broker")))
                return d.FullName;
        throw new FileNotFoundException($"no scripts/broker in a directory above {AppContext.BaseDirectory}");
    }

    /// <summary>A base port whose nodes' AMQP, epmd (+10000) and distribution (+20000) ports are free on loopback.</summary>
    private static int FreeBasePort(int first, int nodes)
    {
        for (int p = first; p < first + 1000; p += 10)
            if (Enumerable.Range(p, nodes).SelectMany(q => new[] { q, q + 20000 }).Append(p + 10000).All(IsFree)) return p;
        throw new InvalidOperationException($"no free broker port from {first}");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            s.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}

public readonly record struct ScriptResult(int ExitCode, string Stdout, string Stderr);
