namespace Fuzz.Engine.Cluster.Contract;

/// <summary>
/// A message of the farm's contract: one of the closed set of kinds <c>FarmManifests</c> names, the
/// only types the farm serializer writes or reads.
/// </summary>
public interface IFarmMessage
{
    FarmHeader Header { get; }

    /// <summary>Every field a receiver reads is present: MessagePack decodes a nil wherever a string, array or object was expected.</summary>
    bool IsWellFormed();
}
