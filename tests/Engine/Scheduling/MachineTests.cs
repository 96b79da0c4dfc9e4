using FsCheck;
using FsCheck.Fluent;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Scheduling;
using Xunit;
using static Fuzz.Tests.Engine.Scheduling.ToyActors;

namespace Fuzz.Tests.Engine.Scheduling;

public class MachineTests
{
    [Fact]
    public void Actors_run_one_at_a_time_between_scheduling_points_until_all_finish()
    {
        var m = new Machine(Invariants);
        var log = new List<string>();
        Co Body(string name)
        {
            for (int i = 0; i < 5; i++)
            {
                log.Add($"{name}+{i}");
                log.Add($"{name}-{i}");
                yield return null;
            }
        }
        var a = m.Spawn("a", Body("a"));
        var b = m.Spawn("b", Body("b"));
        m.Run(new RandomStrategy(3));

        Assert.True(a.Finished && b.Finished);
        Assert.Equal(12, m.Step);
        Assert.Equal(6, a.Steps);
        Assert.Equal(6, b.Steps);
        for (int i = 0; i < log.Count; i += 2) Assert.Equal(log[i].Replace('+', '-'), log[i + 1]);
        Assert.Equal(20, log.Count);
    }

    [Fact]
    public void A_decision_is_recorded_only_where_two_or_more_actors_can_run()
    {
        var single = new Machine(Invariants);
        Run(single, [6], new RandomStrategy(1));
        Assert.Equal(7, single.Step);
        Assert.Empty(single.Schedule.ToArray());

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Cases, c =>
        {
            var m = new Machine(Invariants);
            var log = Run(m, c.Points, new RandomStrategy(c.Seed));
            return log.Count == m.Step && m.Schedule.Length == Decisions(log);
        }));
    }

    [Fact]
    public void Recorded_schedule_replays_the_same_run()
    {
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Cases, c =>
        {
            var first = new Machine(Invariants);
            var log = Run(first, c.Points, new PctStrategy(c.Seed, 3, c.Points.Length, 20));
            var replay = new Machine(Invariants);
            var again = Run(replay, c.Points, new InputStrategy(first.Schedule.ToArray()));
            return log.SequenceEqual(again) && replay.Step == first.Step && replay.Schedule.SequenceEqual(first.Schedule)
                && replay.Preemptions == first.Preemptions && replay.ContextSwitches == first.ContextSwitches;
        }));
    }

    [Fact]
    public void Preemptions_and_context_switches_are_counted_from_who_ran()
    {
        var m = new Machine(Invariants);
        var log = Run(m, [2, 2], new InputStrategy([0, 1, 1, 0]));
        Assert.Equal([0, 1, 1, 0, 0, 1], log);
        Assert.Equal(2, m.Preemptions);
        Assert.Equal(3, m.ContextSwitches);

        Check.One(Config.QuickThrowOnFailure.WithMaxTest(300), Prop.ForAll(Cases, c =>
        {
            var r = new Machine(Invariants);
            var l = Run(r, c.Points, new RandomStrategy(c.Seed));
            return r.Preemptions == Preemptions(l) && r.ContextSwitches == ContextSwitches(l);
        }));
    }

    [Fact]
    public void Call_runs_the_callee_to_its_end_before_the_caller_goes_on()
    {
        var m = new Machine(Invariants);
        var log = new List<string>();
        Co Callee(int depth)
        {
            log.Add($"in {depth}");
            yield return null;
            if (depth > 0)
            {
                yield return m.Call(Callee(depth - 1));
                m.Current!.Ret += 1;
            }
            log.Add($"out {depth}");
        }
        Co Caller()
        {
            yield return null;
            yield return m.Call(Callee(20));
            log.Add($"caller after, ret {m.Current!.Ret}");
        }
        Co Other()
        {
            for (int i = 0; i < 30; i++)
            {
                log.Add("other");
                yield return null;
            }
        }
        m.Spawn("caller", Caller());
        m.Spawn("other", Other());
        m.Run(new RandomStrategy(11));

        var own = log.Where(e => e != "other").ToList();
        var expected = Enumerable.Range(0, 21).Select(d => $"in {20 - d}")
            .Concat(Enumerable.Range(0, 21).Select(d => $"out {d}"))
            .Append("caller after, ret 20");
        Assert.Equal(expected, own);
        Assert.Equal(30, log.Count(e => e == "other"));
        Assert.True(m.ContextSwitches > 0);
    }

    [Fact]
    public void A_blocked_actor_runs_only_once_the_word_it_waits_on_changes()
    {
        var m = new Machine(Invariants);
        ulong flag = m.Memory.Alloc(1, 0);
        var log = new List<string>();
        Co Waiter()
        {
            m.Current!.WaitWhileEquals(flag, 0);
            yield return null;
            log.Add($"woke, flag {m.Memory.Read(flag)}");
        }
        Co Setter()
        {
            for (int i = 0; i < 10; i++)
            {
                log.Add("setter");
                yield return null;
            }
            Assert.Equal(1, m.WaitersOn(flag));
            m.Memory.Write(flag, 1);
        }
        var waiter = m.Spawn("waiter", Waiter());
        m.Spawn("setter", Setter());
        m.Run(new InputStrategy([0]));

        Assert.Equal("woke, flag 1", log[^1]);
        Assert.Equal(2, waiter.Steps);
        Assert.Equal(1, m.Schedule.Length);
        Assert.Equal(0, m.WaitersOn(flag));
    }

    [Fact]
    public void Every_unfinished_actor_blocked_is_a_deadlock_of_the_liveness_invariant()
    {
        var m = new Machine(Invariants);
        ulong x = m.Memory.Alloc(1, 0), y = m.Memory.Alloc(1, 0);
        Co Wait(ulong mine, ulong theirs)
        {
            yield return null;
            m.Memory.Write(mine, 1);
            m.Current!.WaitUntilEquals(theirs, 2);
            yield return null;
            m.Memory.Write(mine, 2);
        }
        m.Spawn("a", Wait(x, y));
        m.Spawn("b", Wait(y, x));
        m.Spawn("done", ToyActors.Steps(m, [], 1));

        var v = Assert.Throws<InvariantViolation>(() => m.Run(new RandomStrategy(2)));
        Assert.Equal(Invariants.LivenessId, v.Id);
        Assert.Equal(Invariants.LivenessName, v.InvariantName);
        Assert.StartsWith("deadlock", v.Detail);
        Assert.Contains($"a: in : waiting until [0x{y:x}] == 0x2 (now 0x1)", v.Dump);
        Assert.Contains($"b: in : waiting until [0x{x:x}] == 0x2 (now 0x1)", v.Dump);
        Assert.Contains("done: finished", v.Dump);
        Assert.Equal(m.Step, v.Step);
        Assert.Equal(m.Schedule.ToArray(), v.Schedule);
    }

    [Fact]
    public void No_completion_within_MaxSteps_is_a_livelock_of_the_liveness_invariant()
    {
        var m = new Machine(Invariants) { MaxSteps = 1000 };
        Co Spin()
        {
            while (true) yield return null;
        }
        m.Spawn("spin", Spin());
        m.Spawn("short", ToyActors.Steps(m, [], 3));

        var v = Assert.Throws<InvariantViolation>(() => m.Run(new RandomStrategy(4)));
        Assert.Equal(Invariants.LivenessId, v.Id);
        Assert.StartsWith("livelock", v.Detail);
        Assert.Equal(1000, v.Step);
        Assert.Contains("spin: in : runnable", v.Dump);
    }

    [Fact]
    public void A_violation_raised_by_an_actor_is_stamped_with_who_ran_and_the_schedule_so_far()
    {
        var m = new Machine(Invariants);
        Co Fail()
        {
            m.Current!.Operation = "#1 fail(x=0)";
            yield return null;
            yield return null;
            throw new InvariantViolation(3, "toy", "broke") { Site = "Fail" };
        }
        m.Spawn("other", ToyActors.Steps(m, [], 10));
        m.Spawn("failer", Fail());

        var v = Assert.Throws<InvariantViolation>(() => m.Run(new RandomStrategy(9)));
        Assert.Equal("failer", v.Actor);
        Assert.Equal("#1 fail(x=0)", v.Operation);
        Assert.Equal(m.Step, v.Step);
        Assert.Equal(m.Schedule.ToArray(), v.Schedule);
        Assert.Equal("Fail", v.Site);
    }

    [Fact]
    public void Reset_gives_a_machine_that_runs_like_a_new_one()
    {
        var used = new Machine(Invariants) { MaxSteps = 50 };
        Co Spin()
        {
            used.Memory.Alloc(3, 1);
            while (true) yield return null;
        }
        used.Spawn("spin", Spin());
        used.Spawn("other", ToyActors.Steps(used, [], 4));
        Assert.Throws<InvariantViolation>(() => used.Run(new RandomStrategy(1)));

        used.Reset();
        Assert.Equal(0, used.Step);
        Assert.Null(used.Current);
        Assert.Empty(used.Schedule.ToArray());
        Assert.Equal(0, used.Preemptions);
        Assert.Equal(0, used.ContextSwitches);
        Assert.Equal(Fuzz.Engine.Memory.SimMemory.Base, used.Memory.Alloc(1, 0));
        used.Reset();

        var fresh = new Machine(Invariants);
        int[] points = [3, 5, 2];
        var a = Run(used, points, new RandomStrategy(8));
        var b = Run(fresh, points, new RandomStrategy(8));
        Assert.Equal(b, a);
        Assert.Equal(fresh.Step, used.Step);
        Assert.Equal(fresh.Schedule.ToArray(), used.Schedule.ToArray());
        Assert.Equal(fresh.Preemptions, used.Preemptions);
        Assert.Equal(fresh.ContextSwitches, used.ContextSwitches);
    }
}
