using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Locks;
using Fuzz.Engine.Scheduling;
using Fuzz.Tests.Engine.Scheduling;
using Xunit;

namespace Fuzz.Tests.Engine.Locks;

public class SrcuTests
{
    private sealed class Domain
    {
        public readonly Machine M = new(ToyActors.Invariants);
        public readonly ulong Idx, Flags;
        public readonly Srcu Srcu;
        public readonly List<string> Log = [];

        public Domain()
        {
            Idx = M.Memory.Alloc(3, 0, "srcu");
            Flags = M.Memory.Alloc(2, 0, "flags");
            Srcu = new Srcu(M.Memory, Idx);
        }

        public ulong Flag(int i) => Flags + (ulong)i * 8;

        public Co Synchronize()
        {
            var self = M.Current!;
            Log.Add("synchronize");
            yield return M.Call(Srcu.Synchronize(self));
            Log.Add("synchronized");
        }
    }

    [Fact]
    public void Synchronize_waits_for_the_readers_that_started_before_it()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), Gen.Choose(0, 6).ToArbitrary(), (seed, hold) =>
        {
            var d = new Domain();
            Co Reader()
            {
                yield return null;
                int idx = d.Srcu.ReadLock();
                d.M.Memory.Write(d.Flag(0), 1);
                for (int i = 0; i < hold; i++) yield return null;
                yield return null;
                d.Log.Add("reader done");
                d.Srcu.ReadUnlock(idx);
            }
            Co Updater()
            {
                d.M.Current!.WaitUntilEquals(d.Flag(0), 1);
                yield return null;
                yield return d.M.Call(d.Synchronize());
            }
            d.M.Spawn("reader", Reader());
            d.M.Spawn("updater", Updater());
            d.M.Run(new RandomStrategy((ulong)seed));
            return d.Log.IndexOf("reader done") < d.Log.IndexOf("synchronized");
        }));
    }

    [Fact]
    public void Synchronize_does_not_wait_for_readers_that_started_after_its_flip()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var d = new Domain();
            Co LateReader()
            {
                d.M.Current!.WaitWhileEquals(d.Idx, 0);
                yield return null;
                int idx = d.Srcu.ReadLock();
                d.M.Current!.WaitUntilEquals(d.Flag(1), 1);
                yield return null;
                d.Log.Add("late reader done");
                d.Srcu.ReadUnlock(idx);
            }
            Co Updater()
            {
                yield return d.M.Call(d.Synchronize());
                d.M.Memory.Write(d.Flag(1), 1);
            }
            d.M.Spawn("late reader", LateReader());
            d.M.Spawn("updater", Updater());
            d.M.Run(new RandomStrategy((ulong)seed));
            return d.Log.SequenceEqual(["synchronize", "synchronized", "late reader done"]);
        }));
    }

    [Fact]
    public void A_reader_that_started_after_one_synchronize_is_waited_for_by_the_next()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Gen.Choose(0, int.MaxValue).ToArbitrary(), seed =>
        {
            var d = new Domain();
            Co LateReader()
            {
                d.M.Current!.WaitWhileEquals(d.Idx, 0);
                yield return null;
                int idx = d.Srcu.ReadLock();
                d.M.Memory.Write(d.Flag(0), 1);
                d.M.Current!.WaitUntilEquals(d.Flag(1), 1);
                yield return null;
                yield return null;
                d.Log.Add("late reader done");
                d.Srcu.ReadUnlock(idx);
            }
            Co Updater()
            {
                yield return d.M.Call(d.Synchronize());
                d.M.Current!.WaitUntilEquals(d.Flag(0), 1);
                yield return null;
                d.M.Memory.Write(d.Flag(1), 1);
                yield return d.M.Call(d.Synchronize());
            }
            d.M.Spawn("late reader", LateReader());
            d.M.Spawn("updater", Updater());
            d.M.Run(new RandomStrategy((ulong)seed));
            return d.Log.SequenceEqual(["synchronize", "synchronized", "synchronize", "late reader done", "synchronized"]);
        }));
    }
}
