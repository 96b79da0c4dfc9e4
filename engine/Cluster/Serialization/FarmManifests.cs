using Fuzz.Engine.Cluster.Contract;

namespace Fuzz.Engine.Cluster.Serialization;

/// <summary>
/// The closed set of message kinds: the Akka string manifest of each, and the only types a
/// received payload can become. A name, once used, keeps its type; a new kind gets a new name.
/// </summary>
public static class FarmManifests
{
    private static readonly (string Manifest, Type Type)[] Table =
    [
        ("new-inputs", typeof(NewInputs)),
        ("reported-crash", typeof(ReportedCrash)),
        ("reports-ack", typeof(ReportsAck)),
        ("heartbeat", typeof(Heartbeat)),
        ("leaving", typeof(Leaving)),
        ("task-request", typeof(TaskRequest)),
        ("replay-task", typeof(ReplayTask)),
        ("minimize-task", typeof(MinimizeTask)),
        ("replay-result", typeof(ReplayResult)),
        ("minimized-crash", typeof(MinimizedCrash)),
        ("task-failed", typeof(TaskFailed)),
        ("accepted", typeof(Accepted)),
        ("corpus-request", typeof(CorpusRequest)),
        ("filed-crash", typeof(FiledCrash)),
        ("refused", typeof(Refused)),
    ];

    private static readonly Dictionary<string, Type> TypeByManifest = Table.ToDictionary(e => e.Manifest, e => e.Type, StringComparer.Ordinal);
    private static readonly Dictionary<Type, string> ManifestByType = Table.ToDictionary(e => e.Type, e => e.Manifest);

    public static IEnumerable<string> All => Table.Select(e => e.Manifest);

    public static bool TryGetType(string manifest, out Type type) => TypeByManifest.TryGetValue(manifest, out type!);

    public static bool TryGetManifest(Type type, out string manifest) => ManifestByType.TryGetValue(type, out manifest!);
}
