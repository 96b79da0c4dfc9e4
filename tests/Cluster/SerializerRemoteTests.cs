using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Cluster.Serialization;
using Xunit;

namespace Fuzz.Tests.Cluster;

/// <summary>Two ActorSystems over Akka.Remote on loopback: what the serializer refuses is dropped and counted, and the association carries on.</summary>
public sealed class SerializerRemoteTests : TestKit
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly ActorSystem _receiver = ActorSystem.Create("receiver", FarmConfig.Remote("127.0.0.1", 0));
    private readonly ActorSelection _sink;

    public SerializerRemoteTests() : base(FarmConfig.Remote("127.0.0.1", 0), "sender")
    {
        _receiver.ActorOf(Props.Create<Sink>(), "sink");
        var address = ((ExtendedActorSystem)_receiver).Provider.DefaultAddress;
        _sink = Sys.ActorSelection(new RootActorPath(address) / "user" / "sink");
    }

    /// <summary>Answers every farm message with an ack of how many inputs it carried.</summary>
    private sealed class Sink : ReceiveActor
    {
        public Sink()
        {
            Receive<NewInputs>(m => Sender.Tell(new ReportsAck(FarmHeader.Now("sink", "mmu"), (ulong)m.Inputs.Length)));
            Receive<IFarmMessage>(_ => Sender.Tell(new ReportsAck(FarmHeader.Now("sink", "mmu"), 0)));
        }
    }

    private void AssertStillConnected()
    {
        _sink.Tell(new Leaving(FarmMessageSamples.Header), TestActor);
        Assert.Equal(0UL, ExpectMsg<ReportsAck>(Patience).Through);
    }

    [Fact]
    public void A_1_MiB_batch_arrives_and_one_over_8_MiB_is_refused_by_the_sender()
    {
        var large = FarmMessageSamples.Batch(1 << 20);
        _sink.Tell(large, TestActor);
        Assert.Equal((ulong)large.Inputs.Length, ExpectMsg<ReportsAck>(Patience).Through);

        _sink.Tell(FarmMessageSamples.Batch(9 << 20), TestActor);
        AwaitCondition(() => FarmSerializer.Of(Sys).Sent[Rejection.Oversized] == 1, Patience);
        AssertStillConnected();
        Assert.Equal(0, FarmSerializer.Of(_receiver).Received.Total);
    }

    [Fact]
    public void The_largest_message_the_serializer_accepts_fits_a_frame()
    {
        var s = FarmSerializer.Of(Sys);
        var input = new ReportedInput(1, new byte[FarmSerializer.MaxMessageBytes], [], 0, 0);
        int excess = s.ToBinary(new NewInputs(FarmMessageSamples.Header, [input with { Data = [] }])).Length;
        var largest = new NewInputs(FarmMessageSamples.Header, [input with { Data = new byte[FarmSerializer.MaxMessageBytes - excess - 8] }]);
        Assert.InRange(s.ToBinary(largest).Length, FarmSerializer.MaxMessageBytes - 16, FarmSerializer.MaxMessageBytes);

        _sink.Tell(largest, TestActor);
        Assert.Equal(1UL, ExpectMsg<ReportsAck>(Patience).Through);
    }

    [Fact]
    public void A_message_of_another_version_is_refused_by_the_receiver()
    {
        AssertStillConnected();
        _sink.Tell(new Leaving(FarmMessageSamples.Header with { Version = FarmHeader.ProtocolVersion + 1 }), TestActor);
        AwaitCondition(() => FarmSerializer.Of(_receiver).Received[Rejection.WrongVersion] == 1, Patience);
        AssertStillConnected();
    }

    protected override void AfterAll()
    {
        Shutdown(_receiver, verifySystemShutdown: true);
        base.AfterAll();
    }
}
