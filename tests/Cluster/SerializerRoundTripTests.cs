using Akka.Serialization;
using Akka.TestKit.Xunit2;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Cluster.Serialization;
using Xunit;

namespace Fuzz.Tests.Cluster;

public class SerializerRoundTripTests() : TestKit(FarmConfig.Serialization)
{
    private (SerializerWithStringManifest Serializer, string Manifest, byte[] Bytes) Encode(IFarmMessage m)
    {
        var serializer = Assert.IsType<FarmSerializer>(Sys.Serialization.FindSerializerFor(m));
        return (serializer, serializer.Manifest(m), serializer.ToBinary(m));
    }

    [Fact]
    public void Every_message_kind_has_a_sample()
    {
        var manifests = FarmMessageSamples.All.Select(m => FarmSerializer.Of(Sys).Manifest(m));
        Assert.Equal(FarmManifests.All.Order(), manifests.Order());
    }

    [Fact]
    public void Every_message_kind_comes_back_as_sent()
    {
        foreach (var m in FarmMessageSamples.All)
        {
            var (serializer, manifest, bytes) = Encode(m);
            var back = serializer.FromBinary(bytes, manifest);
            Assert.IsType(m.GetType(), back);
            // Records compare arrays by reference: the same bytes again is the field-by-field check.
            Assert.Equal(bytes, serializer.ToBinary(back));
            Assert.Equal(FarmMessageSamples.Header, ((IFarmMessage)back).Header);
        }
        Assert.Equal(0, FarmSerializer.Of(Sys).Received.Total);
    }

    [Fact]
    public void The_engine_types_come_back_equal()
    {
        var crash = (ReportedCrash)FarmMessageSamples.All.Single(m => m is ReportedCrash);
        var minimized = (MinimizedCrash)FarmMessageSamples.All.Single(m => m is MinimizedCrash);
        var (s1, m1, b1) = Encode(crash);
        var (s2, m2, b2) = Encode(minimized);
        Assert.Equal(crash.Key, ((ReportedCrash)s1.FromBinary(b1, m1)).Key);
        var back = (MinimizedCrash)s2.FromBinary(b2, m2);
        Assert.Equal((minimized.Key, minimized.Before, minimized.After), (back.Key, back.Before, back.After));
    }

    [Fact]
    public void A_4_MiB_input_batch_comes_back_as_sent()
    {
        var batch = FarmMessageSamples.Batch(4 << 20);
        var (serializer, manifest, bytes) = Encode(batch);
        Assert.InRange(bytes.Length, 4 << 20, FarmSerializer.MaxMessageBytes);
        var back = Assert.IsType<NewInputs>(serializer.FromBinary(bytes, manifest));
        Assert.Equal(batch.Inputs.Length, back.Inputs.Length);
        Assert.Equal(batch.Inputs[^1].Data, back.Inputs[^1].Data);
        Assert.Equal(bytes, serializer.ToBinary(back));
    }
}
