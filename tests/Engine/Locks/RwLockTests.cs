using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Locks;
using Fuzz.Engine.Scheduling;
using Fuzz.Tests.Engine.Scheduling;
using Xunit;

namespace Fuzz.Tests.Engine.Locks;

public class RwLockTests
{
    private sealed class Writers
    {
        public readonly Machine M = new(ToyActors.Invariants);
        public readonly RwLock Lock;
        public readonly List<string> Log = [];
        public int Inside, MostInside;
        public bool SawContention;

        public Writers() => Lock = new RwLock(M, M.Memory.Alloc(1, 0, "lock"));

        /// <summary>write_lock(); <paramref name="hold"/> scheduling points inside; write_unlock().</summary>
        public Co Writer(int hold)
        {
            var self = M.Current!;
            yield return null;
            while (!Lock.TryWriteLock(self)) yield return null;
            Inside++;
            MostInside = Math.Max(MostInside, Inside);
            Assert.True(Lock.IsWriteHeldBy(self));
            Log.Add($"{self.Name} in");
            for (int i = 0; i < hold; i++)
            {
                yield return null;
                SawContention |= Lock.Contended;
            }
            Inside--;
            Log.Add($"{self.Name} out");
            yield return null;
            Lock.WriteUnlock(self);
        }
    }

    [Fact]
    public void One_writer_holds_the_lock_at_a_time()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Choose(2, 4).ToArbitrary(), (seed, writers) =>
        {
            var w = new Writers();
            for (int i = 0; i < writers; i++) w.M.Spawn($"w{i}", w.Writer(1 + i));
            w.M.Run(new RandomStrategy((ulong)seed));
            return w.MostInside == 1 && w.Log.Count == 2 * writers && w.Lock.WriteHolder == -1;
        }));
    }

    [Fact]
    public void A_contended_acquire_blocks_until_the_holder_releases()
    {
        var w = new Writers();
        var holder = w.M.Spawn("holder", w.Writer(1000));
        var waiter = w.M.Spawn("waiter", w.Writer(0));
        w.M.Run(new InputStrategy([0, 0, 1]));

        Assert.Equal(["holder in", "holder out", "waiter in", "waiter out"], w.Log);
        Assert.True(w.SawContention);
        Assert.True(waiter.Steps <= 4, $"the waiter ran {waiter.Steps} steps");
        Assert.True(holder.Steps > 1000);
        Assert.False(w.Lock.Contended);
    }

    [Fact]
    public void The_lock_records_who_took_it_and_when()
    {
        var w = new Writers();
        w.M.Spawn("idle", ToyActors.Steps(w.M, [], 5));
        Actor? taker = null;
        Co Take()
        {
            taker = w.M.Current!;
            yield return null;
            yield return null;
            Assert.True(w.Lock.TryWriteLock(taker));
            Assert.Equal(taker.Id, w.Lock.WriteHolder);
            Assert.Equal(w.M.Step, w.Lock.AcquiredAtStep);
            Assert.Equal(taker.Steps, w.Lock.AcquiredAtOwnStep);
            Assert.Equal(RwLock.Writer, w.M.Memory.Read(w.Lock.Addr));
            yield return null;
            w.Lock.WriteUnlock(taker);
            Assert.Equal(0UL, w.M.Memory.Read(w.Lock.Addr));
        }
        w.M.Spawn("taker", Take());
        w.M.Run(new RandomStrategy(6));

        Assert.Equal(3, w.Lock.AcquiredAtOwnStep);
        Assert.Equal(-1, w.Lock.WriteHolder);
        w.Lock.Reset();
        Assert.Equal(-1, w.Lock.WriteHolder);
    }
}
