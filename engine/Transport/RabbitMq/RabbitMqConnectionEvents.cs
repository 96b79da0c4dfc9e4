using System.Collections;
using System.Text;
using System.Text.RegularExpressions;

namespace Fuzz.Engine.Transport.RabbitMq;

/// <summary>
/// Reads a connection.created / connection.closed event of the event exchange. RabbitMQ 3.10 puts
/// everything in the headers: <c>pid</c> (the connection's id, e.g. <c>&lt;rabbit@host.1.719.0&gt;</c>),
/// <c>user_provided_name</c> (the client-provided name, absent when none was given),
/// <c>timestamp_in_ms</c> (long), and <c>client_properties</c>, which 3.10 sends as a list of
/// Erlang terms printed as text (<c>{&lt;&lt;"connection_name"&gt;&gt;,longstr,&lt;&lt;"..."&gt;&gt;}</c>)
/// and later versions as a table.
/// </summary>
public static partial class RabbitMqConnectionEvents
{
    private static readonly Encoding Utf8 = new UTF8Encoding(false, throwOnInvalidBytes: true);

    /// <summary>
    /// The event, if it is about a connection of <paramref name="farm"/>; null for any other
    /// connection (unnamed, another farm, not a farm process); a Malformed event when it cannot be read.
    /// </summary>
    public static ConnectionEvent? Parse(string routingKey, IDictionary<string, object?>? headers, string farm)
    {
        try
        {
            ConnectionEventKind kind;
            switch (routingKey)
            {
                case "connection.created": kind = ConnectionEventKind.Opened; break;
                case "connection.closed": kind = ConnectionEventKind.Closed; break;
                default: return ConnectionEvent.Bad($"unexpected routing key '{routingKey}'");
            }
            if (headers is null) return ConnectionEvent.Bad($"{routingKey} without headers");
            if (!TryText(headers, "user_provided_name", out var name, out var problem)) return ConnectionEvent.Bad(problem);
            name ??= NameInClientProperties(headers.TryGetValue("client_properties", out var cp) ? cp : null);
            if (name is null || !ConnectionNames.TryParse(name, out var role, out var f, out var who) || f != farm) return null;
            if (!TryText(headers, "pid", out var pid, out problem)) return ConnectionEvent.Bad(problem);
            if (pid is null) return ConnectionEvent.Bad($"{routingKey} of {name} without a pid");
            long? at = headers.TryGetValue("timestamp_in_ms", out var ts) ? ts switch
            {
                long l => l,
                int i => i,
                _ => null,
            } : null;
            if (at is null) return ConnectionEvent.Bad($"{routingKey} of {name} without a timestamp_in_ms");
            return new ConnectionEvent(kind, role, who, pid, at.Value);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return ConnectionEvent.Bad($"{routingKey}: {e.GetType().Name}: {e.Message}");
        }
    }

    /// <summary>False when the header is there but not text; <paramref name="text"/> null when it is absent.</summary>
    private static bool TryText(IDictionary<string, object?> headers, string key, out string? text, out string problem)
    {
        problem = "";
        text = null;
        if (!headers.TryGetValue(key, out var v) || v is null) return true;
        try
        {
            text = v switch
            {
                byte[] b => Utf8.GetString(b),
                string s => s,
                _ => null,
            };
        }
        catch (DecoderFallbackException)
        {
            problem = $"header {key} is not UTF-8";
            return false;
        }
        if (text is null) problem = $"header {key} is a {v.GetType().Name}, not text";
        return text is not null;
    }

    private static string? NameInClientProperties(object? props)
    {
        switch (props)
        {
            case IDictionary<string, object?> table:
                return table.TryGetValue("connection_name", out var n) && n is byte[] b ? Utf8.GetString(b) : n as string;
            case IList list:
                foreach (var item in list)
                    if (item is byte[] term && ErlangConnectionName().Match(Utf8.GetString(term)) is { Success: true } m)
                        return m.Groups[1].Value;
                return null;
            default:
                return null;
        }
    }

    [GeneratedRegex("""^\{<<"connection_name">>,longstr,<<"(.*)">>\}$""", RegexOptions.Singleline)]
    private static partial Regex ErlangConnectionName();
}
