using Akka.Configuration;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Cluster.Serialization;

namespace Fuzz.Engine.Cluster;

/// <summary>The Akka configuration every farm node starts from.</summary>
public static class FarmConfig
{
    /// <summary>
    /// Room in a frame for what Akka.Remote adds around a payload (recipient and sender paths, the
    /// serializer id, the manifest), so that every message the serializer accepts fits a frame.
    /// </summary>
    public const int FrameOverheadBytes = 64 << 10;

    public const int MaximumFrameBytes = FarmSerializer.MaxMessageBytes + FrameOverheadBytes;

    /// <summary>The farm serializer bound to every farm message: for a node without remoting, and under <see cref="Remote"/>.</summary>
    public static Config Serialization { get; } = ConfigurationFactory.ParseString($$"""
        akka.actor {
          serializers.farm = "{{typeof(FarmSerializer).FullName}}, {{typeof(FarmSerializer).Assembly.GetName().Name}}"
          serialization-bindings {
            "{{typeof(IFarmMessage).FullName}}, {{typeof(IFarmMessage).Assembly.GetName().Name}}" = farm
          }
        }
        """);

    /// <summary>A node reachable over Akka.Remote at <paramref name="hostname"/>:<paramref name="port"/> (0: any free port), with frames that fit the farm's largest message.</summary>
    public static Config Remote(string hostname, int port)
    {
        if (hostname.Length == 0 || hostname.Any(c => c is '"' or '\\' || char.IsControl(c) || char.IsWhiteSpace(c)))
            throw new ArgumentException($"not a host name: '{hostname}'", nameof(hostname));
        ArgumentOutOfRangeException.ThrowIfNegative(port);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return ConfigurationFactory.ParseString($$"""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp {
              hostname = "{{hostname}}"
              port = {{port}}
              maximum-frame-size = {{MaximumFrameBytes}}b
            }
            """).WithFallback(Serialization);
    }

    /// <summary>The actor system's name: every node of a farm has the same (Akka.Remote refuses another).</summary>
    public const string SystemName = "fuzz-farm";

    public const string CoordinatorRole = "coordinator";
    public const string WorkerRole = "worker";

    /// <summary>Where the coordinator singleton's manager lives on each coordinator node.</summary>
    public const string CoordinatorPath = "/user/coordinator";

    /// <summary>
    /// Messages a singleton proxy holds while no coordinator is known (the most Akka allows): a
    /// handover takes ~15 s, and a worker resends what is unacknowledged anyway.
    /// </summary>
    public const int ProxyBuffer = 10_000;

    /// <summary>How long the Split Brain Resolver waits for the membership to stay unchanged before it downs the unreachable side.</summary>
    public static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A cluster node at <paramref name="hostname"/>:<paramref name="port"/> with <paramref name="role"/>,
    /// joining <paramref name="seeds"/> (itself when empty). Split Brain Resolver keep-majority with
    /// <c>stable-after = 5s</c>: after a node is unreachable for that long, the side with the majority
    /// downs the other (equal halves: the side with the lowest address stays), so a frozen coordinator
    /// that comes back finds itself downed and never acts as a second one.
    /// </summary>
    public static Config Cluster(string hostname, int port, string role, IReadOnlyList<(string Host, int Port)> seeds)
    {
        var seedList = seeds.Count > 0 ? seeds : [(hostname, port)];
        string seedNodes = string.Join(", ", seedList.Select(s => $"\"akka.tcp://{SystemName}@{s.Host}:{s.Port}\""));
        return ConfigurationFactory.ParseString($$"""
            akka {
              loglevel = WARNING
              stdout-loglevel = WARNING
              log-dead-letters = 10
              log-dead-letters-during-shutdown = off
              actor.provider = cluster
              # associations that fail when a node dies are the failure detector's business (a line per member event)
              remote.log-remote-lifecycle-events = off
              coordinated-shutdown.exit-clr = off
              # the process runs it on SIGTERM and Ctrl-C itself, after the worker handed over what it found
              coordinated-shutdown.run-by-clr-shutdown-hook = off
              cluster {
                roles = ["{{role}}"]
                seed-nodes = [{{seedNodes}}]
                seed-node-timeout = 1s
                retry-unsuccessful-join-after = 1s
                downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
                split-brain-resolver {
                  active-strategy = keep-majority
                  stable-after = {{(int)StableAfter.TotalSeconds}}s
                  down-all-when-unstable = on
                }
                singleton.hand-over-retry-interval = 1s
                singleton-proxy.buffer-size = {{ProxyBuffer}}
              }
            }
            """).WithFallback(Remote(hostname, port));
    }

    /// <summary>"host:port" (port 0..65535); false with a reason otherwise.</summary>
    public static bool TryParseEndpoint(string text, out (string Host, int Port) endpoint, out string why)
    {
        endpoint = default;
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1) { why = $"'{text}' is not host:port"; return false; }
        string host = text[..colon];
        if (!int.TryParse(text[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) || port > 65535)
        {
            why = $"'{text}': the port must be 0..65535";
            return false;
        }
        if (host.Any(c => c is '"' or '\\' or '/' or '@' || char.IsControl(c) || char.IsWhiteSpace(c))) { why = $"'{text}': not a host name"; return false; }
        endpoint = (host, port);
        why = "";
        return true;
    }
}
