using Akka.TestKit.Xunit2;
using Fuzz.Engine.Cluster;
using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Fuzzing;
using Fuzz.Targets;
using Fuzz.Worker.Cluster;
using Fuzz.Worker.Node;
using Xunit;

namespace Fuzz.Tests.Cluster;

/// <summary>The worker actor's side of at-least-once: what its loops find is numbered, sent in batches, resent until acknowledged, and journalled when it is.</summary>
public sealed class WorkerActorTests : TestKit, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("fuzz-worker-actor-").FullName;

    public WorkerActorTests() : base(FarmConfig.Serialization) { }

    [Fact]
    public void Reports_are_resent_until_acknowledged_then_journalled_and_never_sent_again()
    {
        string journal = Path.Combine(_dir, "journal");
        var coordinator = CreateTestProbe();
        var options = new WorkerOptions("w", 1, new FuzzOptions("mmu", FuzzStrategy.Coverage, 7, [])) { JournalPath = journal };
        var worker = Sys.ActorOf(WorkerActor.Props(options, new TargetFactory(), coordinator.Ref, _ => { }));

        Assert.Equal(0, coordinator.ExpectMsg<CorpusRequest>().FromOffset);
        var first = coordinator.FishForMessage<NewInputs>(_ => true, TimeSpan.FromSeconds(10));
        Assert.Equal(1UL, first.Inputs[0].Seq);
        Assert.Equal(0UL, first.AckedThrough);
        ulong through = first.Inputs[^1].Seq;
        Assert.Equal(Enumerable.Range(1, (int)through).Select(i => (ulong)i), first.Inputs.Select(i => i.Seq));

        // Nothing acknowledged: the same reports come again after the resend timeout.
        var again = coordinator.FishForMessage<NewInputs>(m => m.Inputs[0].Seq == 1, WorkerActor.ResendAfter + TimeSpan.FromSeconds(3));
        Assert.Equal(first.Inputs.Select(i => i.Data), again.Inputs.Take(first.Inputs.Length).Select(i => i.Data));

        worker.Tell(new ReportsAck(FarmHeader.Now("c", "mmu"), through), coordinator.Ref);
        AwaitCondition(() => File.Exists(journal) && ReadShared(journal).Length >= (int)through, TimeSpan.FromSeconds(5));
        Assert.All(ReadShared(journal).Take((int)through), l => Assert.StartsWith("input ", l));
        // What the worker sent before it took the ack in is already queued here: set it aside.
        while (coordinator.HasMessages) coordinator.ReceiveOne(TimeSpan.Zero);

        // From now on nothing numbered up to `through` is sent again, and reports say how far the acks go.
        var deadline = DateTime.UtcNow + WorkerActor.ResendAfter + TimeSpan.FromSeconds(2);
        while (DateTime.UtcNow < deadline)
        {
            var m = coordinator.ReceiveOne(TimeSpan.FromMilliseconds(500));
            if (m is NewInputs n)
            {
                Assert.All(n.Inputs, i => Assert.True(i.Seq > through, $"report {i.Seq} sent again after its ack"));
                Assert.True(n.AckedThrough >= through);
            }
        }
        Sys.Stop(worker);
    }

    private static string[] ReadShared(string path)
    {
        using var s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(s).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    public new void Dispose()
    {
        Shutdown();
        try { Directory.Delete(_dir, true); } catch (IOException) { }
        base.Dispose();
    }
}
