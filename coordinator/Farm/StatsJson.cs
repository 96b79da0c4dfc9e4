using System.Text.Json;

namespace Fuzz.Coordinator.Farm;

/// <summary>How stats.jsonl lines (the coordinator's and the embedded farm's) are written.</summary>
public static class StatsJson
{
    public static readonly JsonSerializerOptions Options = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
}
