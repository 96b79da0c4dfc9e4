namespace Fuzz.Engine.Crashes;

/// <summary>
/// What must never change while a crash is minimised or found again: the invariant, the site that
/// detected it and, when the detector is the runtime's own (simulated memory catching a
/// use-after-free on behalf of whatever ran), the operation that was running. Built once from the
/// violation; compared, stored and sent as data.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(CrashKeyJson))]
public sealed record CrashKey(int Invariant, string Site, string Operation = "")
{
    /// <param name="runtimeDetector">The site caught the fault for the running operation rather than checking a rule of its own.</param>
    public static CrashKey Of(int invariant, string site, bool runtimeDetector, string operation)
    {
        if (site.Length == 0) return new(invariant, operation.Length > 0 ? operation : "unknown");
        return new(invariant, site, runtimeDetector ? operation : "");
    }

    /// <summary>The site as reports and signatures name it: "SimMemory in page_fault", "mmu_set_spte".</summary>
    public string Where => Operation.Length > 0 ? $"{Site} in {Operation}" : Site;

    public override string ToString() => $"{Invariant}:{Where}";
}
