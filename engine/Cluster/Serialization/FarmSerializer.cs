using Akka.Actor;
using Akka.Event;
using Akka.Serialization;
using Fuzz.Engine.Cluster.Contract;
using MessagePack;
using MessagePack.Resolvers;

namespace Fuzz.Engine.Cluster.Serialization;

/// <summary>
/// The farm's messages as MessagePack, for Akka (bound to <see cref="IFarmMessage"/> in
/// <see cref="FarmConfig"/>). The manifest picks the type from <see cref="FarmManifests"/>; nothing
/// in a payload names a type. A payload is refused, counted and logged, with a
/// <see cref="FarmMessageRejectedException"/> when it is empty, over <see cref="MaxMessageBytes"/>,
/// of an unknown manifest or another protocol version, truncated, not the manifest's type, or
/// missing a field; a message is refused before sending when it is over the limit.
/// </summary>
public sealed class FarmSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 7015;

    /// <summary>The largest message the farm sends is a corpus batch; nothing legitimate comes near this.</summary>
    public const int MaxMessageBytes = 8 << 20;

    internal static readonly MessagePackSerializerOptions Options = MessagePackSerializerOptions.Standard
        .WithResolver(CompositeResolver.Create([CrashKeyFormatter.Instance, ProgramShapeFormatter.Instance], [StandardResolver.Instance]))
        .WithSecurity(MessagePackSecurity.UntrustedData);

    // Serializers are made while the system starts, before it can hand out loggers.
    private ILoggingAdapter? _log;

    public override int Identifier => SerializerId;

    /// <summary>Messages this node refused to decode.</summary>
    public RejectionCounts Received { get; } = new();

    /// <summary>Messages this node refused to send.</summary>
    public RejectionCounts Sent { get; } = new();

    /// <summary>The instance of <paramref name="system"/>, whose counts are that node's.</summary>
    public static FarmSerializer Of(ActorSystem system) =>
        system.Serialization.FindSerializerForType(typeof(IFarmMessage)) as FarmSerializer
        ?? throw new InvalidOperationException($"farm messages are not bound to {nameof(FarmSerializer)} in {system.Name}: start it from {nameof(FarmConfig)}");

    public override string Manifest(object o) =>
        FarmManifests.TryGetManifest(o.GetType(), out var manifest) ? manifest : throw Refuse(Sent, Rejection.UnknownManifest, $"{o.GetType()} is not a farm message");

    public override byte[] ToBinary(object obj)
    {
        string manifest = Manifest(obj);
        var message = (IFarmMessage)obj;
        if (!message.IsWellFormed()) throw Refuse(Sent, Rejection.Malformed, $"{manifest} with a missing field");
        byte[] bytes = MessagePackSerializer.Serialize(obj.GetType(), obj, Options);
        if (bytes.Length > MaxMessageBytes) throw Refuse(Sent, Rejection.Oversized, $"{manifest} of {bytes.Length} bytes, over {MaxMessageBytes}");
        return bytes;
    }

    public override object FromBinary(byte[] bytes, string manifest)
    {
        if (bytes.Length == 0) throw Refuse(Received, Rejection.Empty, $"empty {manifest}");
        if (bytes.Length > MaxMessageBytes) throw Refuse(Received, Rejection.Oversized, $"{manifest} of {bytes.Length} bytes, over {MaxMessageBytes}");
        if (!FarmManifests.TryGetType(manifest, out var type)) throw Refuse(Received, Rejection.UnknownManifest, $"unknown manifest '{manifest}' ({bytes.Length} bytes)");

        var (why, version) = PeekVersion(bytes);
        if (why != Rejection.None) throw Refuse(Received, why, $"{manifest} of {bytes.Length} bytes has no header");
        if (version != FarmHeader.ProtocolVersion) throw Refuse(Received, Rejection.WrongVersion, $"{manifest} of protocol version {version}, this node speaks {FarmHeader.ProtocolVersion}");

        object? decoded;
        var reader = new MessagePackReader(bytes);
        try
        {
            decoded = MessagePackSerializer.Deserialize(type, ref reader, Options);
        }
        catch (MessagePackSerializationException x)
        {
            throw Refuse(Received, IsTruncation(x) ? Rejection.Truncated : Rejection.Garbage, $"{manifest} of {bytes.Length} bytes: {Innermost(x).Message}", x);
        }
        if (!reader.End) throw Refuse(Received, Rejection.Garbage, $"{manifest} followed by {bytes.Length - reader.Consumed} stray bytes");
        if (decoded is not IFarmMessage message || !message.IsWellFormed()) throw Refuse(Received, Rejection.Malformed, $"{manifest} with a missing field");
        return message;
    }

    /// <summary>Key 0 of the message is its header, key 0 of the header its version (see <see cref="FarmHeader"/>).</summary>
    private static (Rejection, uint) PeekVersion(byte[] bytes)
    {
        var reader = new MessagePackReader(bytes);
        try
        {
            if (reader.NextMessagePackType != MessagePackType.Array || reader.ReadArrayHeader() == 0) return (Rejection.Garbage, 0);
            if (reader.NextMessagePackType != MessagePackType.Array || reader.ReadArrayHeader() == 0) return (Rejection.Garbage, 0);
            if (reader.NextMessagePackType != MessagePackType.Integer) return (Rejection.Garbage, 0);
            return (Rejection.None, reader.ReadUInt32());
        }
        catch (EndOfStreamException)
        {
            return (Rejection.Truncated, 0);
        }
        catch (Exception x) when (x is MessagePackSerializationException or OverflowException)
        {
            return (Rejection.Garbage, 0);
        }
    }

    private static bool IsTruncation(Exception x)
    {
        for (Exception? e = x; e is not null; e = e.InnerException)
            if (e is EndOfStreamException) return true;
        return false;
    }

    private static Exception Innermost(Exception x)
    {
        while (x.InnerException is not null) x = x.InnerException;
        return x;
    }

    private FarmMessageRejectedException Refuse(RejectionCounts counts, Rejection why, string what, Exception? inner = null)
    {
        counts.Add(why);
        var x = new FarmMessageRejectedException(why, what, inner);
        (_log ??= Logging.GetLogger(system, typeof(FarmSerializer))).Warning("{0}", x.Message);
        return x;
    }
}
