using Fuzz.Engine.Diagnostics;
using Fuzz.Engine.Transport.Messages;
using Google.Protobuf;

namespace Fuzz.Engine.Transport.Wire;

/// <summary>Why a message was dead-lettered.</summary>
public enum Rejection { None, Empty, Oversized, Truncated, Garbage, WrongVersion, NoBody, WrongCampaign, Unexpected }

/// <summary>Envelope encoding and the checks every receiver makes before trusting a message.</summary>
public static class FarmWire
{
    public const uint ProtocolVersion = 2;

    /// <summary>Nothing the farm sends comes near this; bigger messages are dead-lettered unread.</summary>
    public const int MaxMessageBytes = 4 << 20;

    public static byte[] Encode(Envelope e)
    {
        if (e.Version == 0) e.Version = ProtocolVersion;
        return e.ToByteArray();
    }

    public static Rejection TryDecode(ReadOnlySpan<byte> body, out Envelope envelope)
    {
        envelope = null!;
        if (body.Length == 0) return Rejection.Empty;
        if (body.Length > MaxMessageBytes) return Rejection.Oversized;
        Envelope e;
        try
        {
            e = Envelope.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException x)
        {
            return x.Message.Contains("ended unexpectedly", StringComparison.OrdinalIgnoreCase) ? Rejection.Truncated : Rejection.Garbage;
        }
        if (e.Version != ProtocolVersion) return Rejection.WrongVersion;
        if (e.BodyCase == Envelope.BodyOneofCase.None) return Rejection.NoBody;
        envelope = e;
        return Rejection.None;
    }

    /// <summary>As <see cref="TryDecode(ReadOnlySpan{byte}, out Envelope)"/>, and a body of any other kind than <paramref name="expected"/> is <see cref="Rejection.Unexpected"/>.</summary>
    public static Rejection TryDecode(ReadOnlySpan<byte> body, Envelope.BodyOneofCase expected, out Envelope envelope)
    {
        var why = TryDecode(body, out envelope);
        return why == Rejection.None && envelope.BodyCase != expected ? Rejection.Unexpected : why;
    }

    public static string Campaign(string target, IEnumerable<string> bugs) =>
        string.Join('+', bugs.Order(StringComparer.Ordinal).Prepend(target));
}

/// <summary>Dead-letter counts by reason, shared by a process's consumers.</summary>
public sealed class RejectionCounts : ReasonCounts<Rejection>;

/// <summary>Envelopes stamped with who sent them, for which campaign, and when.</summary>
public sealed class EnvelopeFactory(string sender, string campaign)
{
    public string Sender { get; } = sender;
    public string Campaign { get; } = campaign;

    public Messages.Envelope New() => new()
    {
        Version = FarmWire.ProtocolVersion,
        Sender = Sender,
        Campaign = Campaign,
        SentUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
    };
}
