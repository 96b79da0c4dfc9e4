using Fuzz.Engine.Fuzzing;
using Xunit;

namespace Fuzz.Tests.Fuzzing;

public sealed class ScheduleShareTests
{
    [Fact]
    public void Starts_with_a_quarter_each_for_random_and_pct()
    {
        var s = ScheduleShare.Start;
        Assert.Equal(0.25, s.RandomShare, 6);
        Assert.Equal(0.25, s.PctShare, 6);
        Assert.Equal(ScheduleShare.Random, s.Pick(0.1));
        Assert.Equal(ScheduleShare.Pct, s.Pick(0.3));
        Assert.Equal(ScheduleShare.Input, s.Pick(0.6));
    }

    [Fact]
    public void An_arm_that_keeps_finding_gets_up_to_its_maximum_and_one_that_stops_falls_to_its_minimum()
    {
        var s = ScheduleShare.Start;
        for (int i = 0; i < 20000; i++)
        {
            s.Record(ScheduleShare.Input, yielded: i % 20 == 0);
            s.Record(ScheduleShare.Random, yielded: false);
            s.Record(ScheduleShare.Pct, yielded: i % 2 == 0);
        }
        Assert.Equal(ScheduleShare.Min, s.RandomShare, 6);
        Assert.Equal(ScheduleShare.Max, s.PctShare, 6);
        Assert.Equal(ScheduleShare.Input, s.Pick(ScheduleShare.Min + ScheduleShare.Max));
    }
}
