using Akka.Actor;
using Akka.TestKit.Xunit2;
using Fuzz.Coordinator.Cluster;
using Fuzz.Coordinator.Farm;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Corpus;
using Fuzz.Targets;
using Xunit;

namespace Fuzz.Tests.Cluster;

/// <summary>The coordinator actor's side of at-least-once: persisted reports are acknowledged cumulatively, resent ones are not decided twice, a new coordinator counts on from what the worker says is acknowledged.</summary>
public sealed class CoordinatorActorTests : TestKit, IDisposable
{
    private const string Campaign = "mmu";
    private readonly string _dir = Directory.CreateTempSubdirectory("fuzz-coordinator-actor-").FullName;
    private readonly FarmStore _store;

    public CoordinatorActorTests() : base(FarmConfig.Serialization)
    {
        _store = new FarmStore(new CoordinatorOptions("c", _dir, "mmu", []) { LoadWorkDirCorpus = false }, new TargetFactory(), _ => { });
    }

    private static FarmHeader From(string worker, string campaign = Campaign) => FarmHeader.Now(worker, campaign);

    private static ReportedInput Input(ulong seq) => new(seq, [(byte)seq, 0x5a, (byte)(seq >> 8)], [(uint)(1000 + seq)], (long)seq, 0);

    private IActorRef Coordinator() => Sys.ActorOf(CoordinatorActor.Props(_store, Campaign, _ => { }));

    private string[] Decisions() => File.ReadAllLines(Path.Combine(_dir, "inputs.log"));

    [Fact]
    public void Resent_inputs_are_acknowledged_again_but_decided_once()
    {
        var c = Coordinator();
        c.Tell(new NewInputs(From("w"), [Input(1), Input(2)]), TestActor);
        var accepted = ExpectMsg<Accepted>();
        Assert.Equal([CorpusStore.NameOf(Input(1).Data), CorpusStore.NameOf(Input(2).Data)], accepted.Inputs.Select(i => i.Name));
        Assert.Equal(2UL, ExpectMsg<ReportsAck>().Through);

        c.Tell(new NewInputs(From("w"), [Input(1), Input(2)]), TestActor);
        var again = ExpectMsg<ReportsAck>();
        Assert.Equal(2UL, again.Through);
        Assert.Null(again.Above);
        Assert.Equal(2, Decisions().Length);
        Assert.Equal(2, _store.Count);
    }

    [Fact]
    public void A_gap_holds_the_cumulative_ack_and_what_is_above_it_is_named()
    {
        var c = Coordinator();
        c.Tell(new NewInputs(From("w"), [Input(1), Input(3)]), TestActor);
        ExpectMsg<Accepted>();
        var ack = ExpectMsg<ReportsAck>();
        Assert.Equal(1UL, ack.Through);
        Assert.Equal([3UL], ack.Above!);

        c.Tell(new NewInputs(From("w"), [Input(2)]), TestActor);
        ExpectMsg<Accepted>();
        ack = ExpectMsg<ReportsAck>();
        Assert.Equal(3UL, ack.Through);
        Assert.Null(ack.Above);
    }

    [Fact]
    public void A_coordinator_that_took_over_counts_on_from_what_the_worker_has_acknowledged()
    {
        var c = Coordinator();
        c.Tell(new NewInputs(From("w"), [Input(6), Input(7)], AckedThrough: 5), TestActor);
        ExpectMsg<Accepted>();
        Assert.Equal(7UL, ExpectMsg<ReportsAck>().Through);
    }

    [Fact]
    public void Another_campaign_is_refused_once_and_dropped_and_the_merged_corpus_is_served_from_an_offset()
    {
        var c = Coordinator();
        c.Tell(new NewInputs(From("x", "mmu+stale-fault"), [Input(1)]), TestActor);
        Assert.Contains("this farm runs campaign mmu, x runs mmu+stale-fault", ExpectMsg<Refused>().Reason);
        c.Tell(new NewInputs(From("x", "mmu+stale-fault"), [Input(2)]), TestActor);
        ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        Assert.Equal(0, _store.Count);

        c.Tell(new NewInputs(From("w"), [Input(1), Input(2), Input(3)]), TestActor);
        ExpectMsg<Accepted>();
        ExpectMsg<ReportsAck>();
        c.Tell(new CorpusRequest(From("late"), 1), TestActor);
        var served = ExpectMsg<Accepted>();
        Assert.Equal(1, served.FirstOffset);
        Assert.Equal([CorpusStore.NameOf(Input(2).Data), CorpusStore.NameOf(Input(3).Data)], served.Inputs.Select(i => i.Name));
    }

    public new void Dispose()
    {
        Shutdown();
        _store.Dispose();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
        base.Dispose();
    }
}
