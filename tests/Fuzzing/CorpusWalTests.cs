using Fuzz.Engine.Corpus;
using Fuzz.Engine.Transport;
using Xunit;

namespace Fuzz.Tests.Fuzzing;

public class CorpusWalTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "fuzz-wal-" + Guid.NewGuid().ToString("n"));

    public CorpusWalTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string Wal => Path.Combine(_dir, "accepted.wal");
    private CorpusStore Store() => new(Path.Combine(_dir, "corpus"));
    private HashSet<string> Files() => Directory.GetFiles(Path.Combine(_dir, "corpus")).Select(f => Path.GetFileName(f)!).ToHashSet();

    private static byte[][] Inputs(int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => { var b = new byte[rng.Next(1, 300)]; rng.NextBytes(b); return b; }).ToArray();
    }

    [Fact]
    public async Task Appended_inputs_get_their_files_and_are_records_when_reopened()
    {
        var inputs = Inputs(50, 1);
        using (var wal = new CorpusWal(Wal, Store()))
        {
            wal.Append(inputs.Take(20).Select(NamedInput.Of).ToList());
            wal.Append(inputs.Skip(20).Select(NamedInput.Of).ToList());
            await wal.WaitWrittenAsync(CancellationToken.None);
            Assert.Equal(inputs.Select(b => CorpusStore.NameOf(b)).ToHashSet(), Files());
        }
        using var again = new CorpusWal(Wal, Store());
        Assert.Equal(50, again.Records);
        Assert.Equal(0, again.Recovered);
        Assert.Equal(0, again.TornBytes);
    }

    [Fact]
    public void Files_a_crash_left_unwritten_and_a_torn_last_record_are_repaired_on_opening()
    {
        var inputs = Inputs(30, 2);
        using (var wal = new CorpusWal(Wal, Store()))
        {
            wal.Append(inputs.Select(NamedInput.Of).ToList());
        }
        var deleted = Files().Take(7).ToList();
        foreach (var f in deleted) File.Delete(Path.Combine(_dir, "corpus", f));
        long whole = new FileInfo(Wal).Length;
        using (var fs = new FileStream(Wal, FileMode.Append))
            fs.Write([200, 0, 0, 0, 1, 2, 3, 4, 5]);

        using var reopened = new CorpusWal(Wal, Store());
        Assert.Equal(30, reopened.Records);
        Assert.Equal(7, reopened.Recovered);
        Assert.Equal(9, reopened.TornBytes);
        Assert.Equal(whole, new FileInfo(Wal).Length);
        Assert.Equal(9, new FileInfo(Wal + ".torn").Length);
        Assert.Equal(inputs.Select(b => CorpusStore.NameOf(b)).ToHashSet(), Files());
    }

    [Fact]
    public void A_corrupted_record_stops_the_read_and_nothing_after_it_is_lost()
    {
        var inputs = Inputs(10, 3);
        using (var wal = new CorpusWal(Wal, Store()))
            wal.Append(inputs.Select(NamedInput.Of).ToList());
        var bytes = File.ReadAllBytes(Wal);
        int third = 12 * 2 + inputs[0].Length + inputs[1].Length;
        bytes[third + 12] ^= 0xff;
        File.WriteAllBytes(Wal, bytes);
        using var reopened = new CorpusWal(Wal, Store());
        Assert.Equal(2, reopened.Records);
        Assert.Equal(bytes.Length - third, reopened.TornBytes);
        Assert.Equal(bytes.AsSpan(third).ToArray(), File.ReadAllBytes(Wal + ".torn"));
    }
}

public class LatencyHistogramTests
{
    [Fact]
    public void Percentiles_are_bucket_upper_edges_and_histograms_add_up()
    {
        var a = new LatencyHistogram();
        for (int i = 0; i < 98; i++) a.Add(5);
        a.Add(450);
        a.Add(20_000);
        Assert.Equal(5, a.Percentile(50));
        Assert.Equal(459, a.Percentile(99));
        Assert.Equal(double.PositiveInfinity, a.Percentile(100));

        var b = new LatencyHistogram(a.Snapshot().AsSpan().TrimEnd(0UL).ToArray());
        Assert.Equal(a.Snapshot(), b.Snapshot());
        b.Merge(a);
        Assert.Equal(200, b.Count);
        Assert.Equal(100, b.Since(a).Count);
        Assert.True(double.IsNaN(new LatencyHistogram().Percentile(50)));
        Assert.Equal(1099, LatencyHistogram.UpperEdge(LatencyHistogram.BucketOf(1000)));
        Assert.Equal(99, LatencyHistogram.UpperEdge(LatencyHistogram.BucketOf(99)));
        Assert.Equal(109, LatencyHistogram.UpperEdge(LatencyHistogram.BucketOf(100)));
    }
}
