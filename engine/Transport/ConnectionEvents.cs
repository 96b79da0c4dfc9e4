namespace Fuzz.Engine.Transport;

public enum ConnectionEventKind { Opened, Closed, Malformed }

/// <summary>
/// The broker's notice that a farm process's connection opened or closed (a process killed with
/// kill -9 closes its connection at once). <see cref="Connection"/> is the broker's id of that
/// connection; <see cref="BrokerUnixMs"/> is when the broker saw it, by the broker's clock.
/// <see cref="ConnectionEventKind.Malformed"/> is an event that could not be read, with
/// <see cref="Problem"/> saying why.
/// </summary>
public sealed record ConnectionEvent(ConnectionEventKind Kind, string Role, string Name, string Connection, long BrokerUnixMs, string? Problem = null)
{
    public static ConnectionEvent Bad(string problem) => new(ConnectionEventKind.Malformed, "", "", "", 0, problem);
}

/// <summary>
/// How a farm process names its broker connection, so that the broker's events about it say
/// whose it is: <c>fuzz-&lt;role&gt;:&lt;farm&gt;:&lt;name&gt;</c>, e.g. <c>fuzz-worker:default:host-1234</c>.
/// </summary>
public static class ConnectionNames
{
    public const string Worker = "worker";
    public const string Coordinator = "coordinator";

    public static string Of(string role, string farm, string name) => $"fuzz-{role}:{farm}:{name}";

    /// <summary>The farm has no ':'; the name is everything after the second one.</summary>
    public static bool TryParse(string connectionName, out string role, out string farm, out string name)
    {
        role = farm = name = "";
        if (!connectionName.StartsWith("fuzz-", StringComparison.Ordinal)) return false;
        var parts = connectionName["fuzz-".Length..].Split(':', 3);
        if (parts.Length != 3 || parts.Any(p => p.Length == 0)) return false;
        (role, farm, name) = (parts[0], parts[1], parts[2]);
        return true;
    }
}
