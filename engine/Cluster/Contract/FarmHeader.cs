using MessagePack;

namespace Fuzz.Engine.Cluster.Contract;

/// <summary>
/// Who sent a message, for which campaign, when, and in which version of this contract. Every farm
/// message carries one as its key 0, and a header's version is its own key 0: the serializer reads
/// the version before anything else, so both positions stay where they are in every later version.
/// Compatible changes add keys at the end; anything else bumps <see cref="ProtocolVersion"/>.
/// </summary>
[MessagePackObject]
public sealed record FarmHeader(
    [property: Key(0)] uint Version,
    [property: Key(1)] string Sender,
    // Target and seeded bugs the sender runs ("mmu", "mmu+stale-fault"): features only merge within one campaign.
    [property: Key(2)] string Campaign,
    [property: Key(3)] long SentUnixMs)
{
    public const uint ProtocolVersion = 1;

    public static FarmHeader Now(string sender, string campaign) =>
        new(ProtocolVersion, sender, campaign, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());

    internal bool IsWellFormed => Sender is not null && Campaign is not null;
}
