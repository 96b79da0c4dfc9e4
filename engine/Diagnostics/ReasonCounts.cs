using System.Runtime.CompilerServices;

namespace Fuzz.Engine.Diagnostics;

/// <summary>
/// How many times each reason was counted (why a message was refused, say), thread-safe. The
/// enum's first value, 0, means "no reason" and is left out of <see cref="Total"/> and the dictionary.
/// </summary>
public class ReasonCounts<TReason> where TReason : struct, Enum
{
    private static readonly TReason[] Reasons = Enum.GetValues<TReason>();
    private readonly long[] _counts = new long[Reasons.Length];

    public void Add(TReason r) => Interlocked.Increment(ref _counts[Index(r)]);

    public long this[TReason r] => Interlocked.Read(ref _counts[Index(r)]);

    public long Total
    {
        get
        {
            long n = 0;
            for (int i = 1; i < _counts.Length; i++) n += Interlocked.Read(ref _counts[i]);
            return n;
        }
    }

    public IReadOnlyDictionary<string, long> ToDictionary() =>
        Reasons.Skip(1).Where(r => this[r] > 0).ToDictionary(r => r.ToString(), r => this[r]);

    private static int Index(TReason r) => Unsafe.As<TReason, int>(ref r);
}
