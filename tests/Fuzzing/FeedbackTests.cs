using Fuzz.Engine.Feedback;
using Xunit;

namespace Fuzz.Tests.Fuzzing;

public class FeedbackTests
{
    /// <summary>Every hit count lands in AFL's bucket, in both maps, and reading clears the maps.</summary>
    [Fact]
    public void Counts_are_classified_into_AFL_buckets_and_maps_cleared()
    {
        var fb = new Feedback();
        var expected = new List<uint>();
        for (int c = 1; c < 256; c++)
        {
            int edgeCell = c * 197 % FeatureSet.EdgeMapSize, semCell = c * 31 % SemanticFeatures.MapSize;
            fb.EdgeMap[edgeCell] = (byte)c;
            fb.SemanticMap[semCell] = (byte)c;
            fb.SemanticMap[SemanticFeatures.MapSize + semCell / 64] = 1;
            expected.Add((uint)(edgeCell * 8 + Feedback.Bucket((byte)c)));
            expected.Add((uint)((FeatureSet.EdgeMapSize + semCell) * 8 + Feedback.Bucket((byte)c)));
        }
        var global = new FeatureSet();
        Assert.True(fb.Read(global));
        Assert.Equal(expected.Order(), fb.FeatureIds());
        Assert.All(fb.EdgeMap, b => Assert.Equal(0, b));
        Assert.All(fb.SemanticMap, b => Assert.Equal(0, b));

        Assert.Equal(expected.Count, global.Add(fb.Words, fb.Bits));
        Assert.Equal(255, global.Edges);
        Assert.Equal(255, global.Semantic);
        fb.EdgeMap[197] = 1;
        Assert.False(fb.Read(global));
        fb.EdgeMap[197] = 2;
        Assert.True(fb.Read(global));
    }

    [Theory]
    [InlineData(1, 0)] [InlineData(2, 1)] [InlineData(3, 2)] [InlineData(4, 3)] [InlineData(7, 3)] [InlineData(8, 4)]
    [InlineData(15, 4)] [InlineData(16, 5)] [InlineData(31, 5)] [InlineData(32, 6)] [InlineData(127, 6)] [InlineData(128, 7)] [InlineData(255, 7)]
    public void Bucket_boundaries(int count, int bucket) => Assert.Equal(bucket, Feedback.Bucket((byte)count));
}
