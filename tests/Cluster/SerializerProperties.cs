using Akka.TestKit.Xunit2;
using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Cluster.Serialization;
using Xunit;

namespace Fuzz.Tests.Cluster;

public class SerializerProperties() : TestKit(FarmConfig.Serialization)
{
    private static readonly string[] Manifests = [.. FarmManifests.All];

    /// <summary>
    /// Random bytes under any manifest, and valid messages with bytes changed, cut off or inserted
    /// under their own: those reach past the header into every kind's fields.
    /// </summary>
    private static Gen<(byte[] Bytes, string Manifest)> Payloads(FarmSerializer s)
    {
        var encoded = FarmMessageSamples.All.Select(m => (Bytes: s.ToBinary(m), Manifest: s.Manifest(m))).ToArray();
        var random = Gen.Zip(Gen.Zip(Gen.Choose(0, 600), Gen.Choose(0, int.MaxValue)), Gen.Elements(Manifests),
            (n, manifest) => (FarmMessageSamples.Bytes(n.Item1, n.Item2), manifest));
        var edited = Gen.Zip(Gen.Elements(encoded), Gen.Choose(0, int.MaxValue), (e, seed) => (Edit(e.Bytes, new Random(seed)), e.Manifest));
        return Gen.Frequency((1, random), (3, edited));
    }

    private static byte[] Edit(byte[] valid, Random rng)
    {
        var b = new List<byte>(valid);
        for (int edits = rng.Next(1, 4); edits > 0 && b.Count > 0; edits--)
        {
            int at = rng.Next(b.Count);
            switch (rng.Next(3))
            {
                case 0: b[at] = (byte)rng.Next(256); break;
                case 1: b.RemoveRange(at, b.Count - at); break;
                default: b.Insert(at, (byte)rng.Next(256)); break;
            }
        }
        return [.. b];
    }

    [Fact]
    public void Any_bytes_decode_to_a_well_formed_message_of_the_manifest_or_are_refused_and_counted()
    {
        var s = FarmSerializer.Of(Sys);
        int decoded = 0, refused = 0;
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(3000), Prop.ForAll(Payloads(s).ToArbitrary(), payload =>
        {
            var (bytes, manifest) = payload;
            long before = s.Received.Total;
            try
            {
                var m = s.FromBinary(bytes, manifest);
                decoded++;
                FarmManifests.TryGetType(manifest, out var type);
                return m.GetType() == type && ((IFarmMessage)m).IsWellFormed() && s.Received.Total == before;
            }
            catch (FarmMessageRejectedException x)
            {
                refused++;
                return x.Reason != Rejection.None && s.Received.Total == before + 1;
            }
        }));
        // Both sides of the property were reached.
        Assert.True(decoded > 100 && refused > 100, $"decoded {decoded}, refused {refused}");
    }
}
