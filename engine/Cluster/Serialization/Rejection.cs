using System.Runtime.Serialization;

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
public sealed class RejectionCounts
{
    private readonly long[] _counts = new long[Enum.GetValues<Rejection>().Length];

    public void Add(Rejection r) => Interlocked.Increment(ref _counts[(int)r]);

    public long this[Rejection r] => Interlocked.Read(ref _counts[(int)r]);

    public long Total
    {
        get
        {
            long n = 0;
            for (int i = (int)Rejection.None + 1; i < _counts.Length; i++) n += Interlocked.Read(ref _counts[i]);
            return n;
        }
    }

    public IReadOnlyDictionary<string, long> ToDictionary() =>
        Enum.GetValues<Rejection>().Where(r => r != Rejection.None && this[r] > 0).ToDictionary(r => r.ToString(), r => this[r]);
}
