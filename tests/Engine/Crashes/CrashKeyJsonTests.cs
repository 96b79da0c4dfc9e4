using System.Text.Json;
using Fuzz.Engine.Crashes;
using Xunit;

namespace Fuzz.Tests.Engine.Crashes;

public class CrashKeyJsonTests
{
    [Fact]
    public void A_key_round_trips_as_an_object_of_its_fields()
    {
        var key = new CrashKey(7, "SimMemory", "clear_young");
        string json = JsonSerializer.Serialize(key);
        Assert.Equal("""{"Invariant":7,"Site":"SimMemory","Operation":"clear_young"}""", json);
        Assert.Equal(key, JsonSerializer.Deserialize<CrashKey>(json));
    }

    [Theory]
    [InlineData("\"7:SimMemory in clear_young\"", 7, "SimMemory", "clear_young")]
    [InlineData("\"10:mmu_set_spte\"", 10, "mmu_set_spte", "")]
    public void A_key_written_as_text_by_earlier_runs_is_read(string json, int invariant, string site, string operation)
    {
        Assert.Equal(new CrashKey(invariant, site, operation), JsonSerializer.Deserialize<CrashKey>(json));
    }

    [Theory]
    [InlineData("\"no colon\"")]
    [InlineData("\"x:site\"")]
    [InlineData("12")]
    public void Anything_else_is_refused_as_malformed(string json)
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<CrashKey>(json));
    }
}
