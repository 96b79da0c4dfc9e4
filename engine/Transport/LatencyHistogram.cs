namespace Fuzz.Engine.Transport;

/// <summary>
/// Latencies in milliseconds counted in fixed buckets (1 ms up to 100 ms, 10 ms up to 1 s, 100 ms
/// up to 10 s, then one overflow bucket), so histograms from several processes add up exactly and
/// travel in a heartbeat. Percentiles are reported as the upper edge of their bucket.
/// </summary>
public sealed class LatencyHistogram
{
    public const int Buckets = 100 + 90 + 90 + 1;
    private readonly long[] _counts = new long[Buckets];

    public LatencyHistogram() { }

    public LatencyHistogram(IEnumerable<ulong> counts)
    {
        int i = 0;
        foreach (var c in counts)
        {
            if (i == Buckets) break;
            _counts[i++] = (long)Math.Min(c, long.MaxValue);
        }
    }

    public static int BucketOf(long ms) => ms switch
    {
        < 0 => 0,
        < 100 => (int)ms,
        < 1000 => 100 + (int)((ms - 100) / 10),
        < 10_000 => 190 + (int)((ms - 1000) / 100),
        _ => Buckets - 1,
    };

    /// <summary>The largest latency a bucket holds (the overflow bucket: +infinity).</summary>
    public static double UpperEdge(int bucket) => bucket switch
    {
        < 100 => bucket,
        < 190 => 100 + (bucket - 100 + 1) * 10 - 1,
        < 280 => 1000 + (bucket - 190 + 1) * 100 - 1,
        _ => double.PositiveInfinity,
    };

    public void Add(long ms) => Interlocked.Increment(ref _counts[BucketOf(ms)]);

    public long Count
    {
        get
        {
            long n = 0;
            for (int i = 0; i < Buckets; i++) n += Volatile.Read(ref _counts[i]);
            return n;
        }
    }

    public ulong[] Snapshot()
    {
        var s = new ulong[Buckets];
        for (int i = 0; i < Buckets; i++) s[i] = (ulong)Volatile.Read(ref _counts[i]);
        return s;
    }

    public void Merge(LatencyHistogram other)
    {
        for (int i = 0; i < Buckets; i++) _counts[i] += Volatile.Read(ref other._counts[i]);
    }

    /// <summary>This minus an earlier snapshot of the same counters: what was added in between.</summary>
    public LatencyHistogram Since(LatencyHistogram earlier)
    {
        var d = new LatencyHistogram();
        for (int i = 0; i < Buckets; i++) d._counts[i] = Math.Max(0, _counts[i] - earlier._counts[i]);
        return d;
    }

    /// <summary>The p-th percentile, or null when there is none or it lies in the overflow bucket (for JSON).</summary>
    public double? FinitePercentile(double p)
    {
        double v = Percentile(p);
        return double.IsFinite(v) ? v : null;
    }

    /// <summary>The upper edge of the bucket holding the p-th percentile; NaN when empty.</summary>
    public double Percentile(double p)
    {
        long n = Count;
        if (n == 0) return double.NaN;
        long rank = Math.Max(1, (long)Math.Ceiling(p / 100 * n));
        long seen = 0;
        for (int i = 0; i < Buckets; i++)
        {
            seen += _counts[i];
            if (seen >= rank) return UpperEdge(i);
        }
        return UpperEdge(Buckets - 1);
    }
}
