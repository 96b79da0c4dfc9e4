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
}
