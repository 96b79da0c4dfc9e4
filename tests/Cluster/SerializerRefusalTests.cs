using Akka.TestKit.Xunit2;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Cluster.Serialization;
using MessagePack;
using Xunit;

namespace Fuzz.Tests.Cluster;

public class SerializerRefusalTests() : TestKit(FarmConfig.Serialization)
{
    private FarmSerializer Serializer => FarmSerializer.Of(Sys);

    private static byte[] Encoded(FarmSerializer s, IFarmMessage m) => s.ToBinary(m);

    private void AssertRefused(Rejection why, byte[] bytes, string manifest)
    {
        long before = Serializer.Received[why];
        var x = Assert.Throws<FarmMessageRejectedException>(() => Serializer.FromBinary(bytes, manifest));
        Assert.Equal(why, x.Reason);
        Assert.Equal(before + 1, Serializer.Received[why]);
    }

    [Fact]
    public void Random_bytes_are_refused_as_garbage()
    {
        for (int seed = 0; seed < 50; seed++)
        {
            var bytes = FarmMessageSamples.Bytes(1 + seed * 37, seed);
            bytes[0] = 0xc1; // never used by MessagePack: random bytes that start as an array could decode as a short one
            AssertRefused(Rejection.Garbage, bytes, "new-inputs");
        }
    }

    [Fact]
    public void Every_truncation_of_every_kind_is_refused_as_truncated()
    {
        foreach (var m in FarmMessageSamples.All)
        {
            var bytes = Encoded(Serializer, m);
            string manifest = Serializer.Manifest(m);
            for (int n = 1; n < bytes.Length; n++) AssertRefused(Rejection.Truncated, bytes[..n], manifest);
        }
    }

    [Fact]
    public void Empty_is_refused()
    {
        AssertRefused(Rejection.Empty, [], "heartbeat");
    }

    [Fact]
    public void A_payload_over_8_MiB_is_refused_unread()
    {
        AssertRefused(Rejection.Oversized, new byte[FarmSerializer.MaxMessageBytes + 1], "new-inputs");
    }

    [Fact]
    public void A_message_over_8_MiB_is_not_sent()
    {
        var x = Assert.Throws<FarmMessageRejectedException>(() => Serializer.ToBinary(FarmMessageSamples.Batch(9 << 20)));
        Assert.Equal(Rejection.Oversized, x.Reason);
        Assert.Equal(1, Serializer.Sent[Rejection.Oversized]);
    }

    [Fact]
    public void Another_protocol_version_is_refused()
    {
        var m = new Leaving(FarmMessageSamples.Header with { Version = FarmHeader.ProtocolVersion + 1 });
        AssertRefused(Rejection.WrongVersion, MessagePackSerializer.Serialize(m), "leaving");
    }

    [Fact]
    public void An_unknown_manifest_is_refused()
    {
        var bytes = Encoded(Serializer, FarmMessageSamples.All[0]);
        AssertRefused(Rejection.UnknownManifest, bytes, "System.Object");
        AssertRefused(Rejection.UnknownManifest, bytes, "NEW-INPUTS");
    }

    [Fact]
    public void A_payload_of_another_kind_is_refused()
    {
        AssertRefused(Rejection.Garbage, Encoded(Serializer, FarmMessageSamples.All.Single(m => m is FiledCrash)), "heartbeat");
    }

    [Fact]
    public void A_missing_field_is_refused_on_both_sides()
    {
        var m = new TaskFailed(FarmMessageSamples.Header, "t-1", null!);
        AssertRefused(Rejection.Malformed, MessagePackSerializer.Serialize(m), "task-failed");
        Assert.Equal(Rejection.Malformed, Assert.Throws<FarmMessageRejectedException>(() => Serializer.ToBinary(m)).Reason);
        Assert.Equal(1, Serializer.Sent[Rejection.Malformed]);
    }

    [Fact]
    public void Stray_bytes_after_a_message_are_refused()
    {
        AssertRefused(Rejection.Garbage, [.. Encoded(Serializer, new Leaving(FarmMessageSamples.Header)), 0xc0], "leaving");
    }

    [Fact]
    public void Keys_a_later_version_adds_are_skipped_however_deep()
    {
        var header = MessagePackSerializer.Serialize(FarmMessageSamples.Header);
        // Leaving's array with the header, then an extra key nested a million arrays deep.
        byte[] bytes = [0x92, .. header, .. Enumerable.Repeat((byte)0x91, 1_000_000), 0xc0];
        Assert.Equal(FarmMessageSamples.Header, Assert.IsType<Leaving>(Serializer.FromBinary(bytes, "leaving")).Header);
    }

    [Fact]
    public void An_object_outside_the_contract_is_not_sent()
    {
        Assert.Equal(Rejection.UnknownManifest, Assert.Throws<FarmMessageRejectedException>(() => Serializer.ToBinary("hello")).Reason);
    }
}
