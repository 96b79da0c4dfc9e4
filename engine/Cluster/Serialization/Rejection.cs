using System.Runtime.Serialization;
using Fuzz.Engine.Diagnostics;

namespace Fuzz.Engine.Cluster.Serialization;

/// <summary>Why the farm serializer refused a message.</summary>
public enum Rejection
{
    None,
    Empty,
    /// <summary>Over <see cref="FarmSerializer.MaxMessageBytes"/>: refused unread when received, unsent when sending.</summary>
    Oversized,
    Truncated,
    Garbage,
    WrongVersion,
    /// <summary>A manifest outside the contract's table, or an object of a type outside it.</summary>
    UnknownManifest,
    /// <summary>Decoded, but a field the receiver reads is missing.</summary>
    Malformed,
}

/// <summary>
/// A message the farm serializer refused. A <see cref="SerializationException"/>, which Akka.Remote
/// treats as transient: it logs and drops the one message and keeps the association.
/// </summary>
public sealed class FarmMessageRejectedException(Rejection reason, string message, Exception? inner = null)
    : SerializationException($"farm message refused ({reason}): {message}", inner)
{
    public Rejection Reason { get; } = reason;
}

/// <summary>Refusal counts by reason.</summary>
public sealed class RejectionCounts : ReasonCounts<Rejection>;
