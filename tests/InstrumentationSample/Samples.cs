using System.Text;

namespace Fuzz.InstrumentationSample;

/// <summary>
/// Code shapes the instrumenter must handle. The tests call every public static method taking one
/// int on the original and on the instrumented assembly and compare results and exceptions.
/// </summary>
public static class Samples
{
    private static volatile int s_last;
    private static readonly int[] s_table = BuildTable();

    private static int[] BuildTable()
    {
        var t = new int[16];
        for (int i = 0; i < t.Length; i++) t[i] = i * i % 7;
        return t;
    }

    public static string Classify(int x)
    {
        if (x < 0) return "negative";
        if (x == 0) return "zero";
        return x % 2 == 0 ? "even" : "odd";
    }

    public static string Switch(int x)
    {
        switch (x & 7)
        {
            case 0: return "zero";
            case 1: return "one";
            case 2:
            case 3: return "two or three";
            case 5: return "five";
            case 6: return "six";
            default: return "other " + (x & 7);
        }
    }

    public static int Loops(int x)
    {
        int sum = 0;
        for (int i = 0; i < (x & 31); i++)
        {
            if (i % 3 == 0) continue;
            if (sum > 200) break;
            sum += s_table[i & 15];
        }
        while (sum > 40) sum -= 7;
        do sum++; while (sum % 4 != 0);
        foreach (char c in x.ToString()) sum += c;
        return sum;
    }

    public static string TryCatchFinally(int x)
    {
        var log = new StringBuilder();
        try
        {
            log.Append("try;");
            if (x % 3 == 0) throw new InvalidOperationException($"three divides {x}");
            if (x % 5 == 0) return log.Append("early;").ToString();
            log.Append("body;");
        }
        catch (InvalidOperationException e)
        {
            log.Append("caught ").Append(e.Message).Append(';');
        }
        finally
        {
            log.Append("finally;");
        }
        return log.ToString();
    }

    public static string Filter(int x)
    {
        try
        {
            Fail(x);
            return "no exception";
        }
        catch (ArgumentException e) when (e.ParamName == "even")
        {
            return "filtered even";
        }
        catch (ArgumentException e) when (x > 100)
        {
            return "filtered big " + e.ParamName;
        }
    }

    private static void Fail(int x)
    {
        if (x % 4 == 0) throw new ArgumentException("even failure", "even");
        if (x % 4 == 1) throw new ArgumentException("odd failure", "odd");
    }

    public static int ThrowsOut(int x)
    {
        if (x % 7 == 1) throw new ArgumentOutOfRangeException(nameof(x), x, "one more than a multiple of seven");
        if (x % 7 == 2) throw new KeyNotFoundException($"no key {x}");
        return checked(x * 1_000_000);
    }

    public static int Iterator(int x)
    {
        int hash = 0;
        foreach (int v in Sequence(x)) hash = hash * 31 + v;
        return hash;
    }

    private static IEnumerable<int> Sequence(int x)
    {
        if (x < 0) yield break;
        for (int i = 0; i < (x & 7); i++)
        {
            if (i == 5) yield return -1;
            else yield return i * x;
        }
        try
        {
            yield return 42;
        }
        finally
        {
            s_last = x;
        }
    }

    public static int Lambda(int x)
    {
        Func<int, int> distance = y => y > x ? y - x : x - y;
        Func<int, bool> odd = y => (y & 1) == 1;
        return Enumerable.Range(0, x & 15).Where(odd).Select(distance).Sum();
    }

    public static string Async(int x) => AsyncCore(x).GetAwaiter().GetResult();

    private static async Task<string> AsyncCore(int x)
    {
        await Task.CompletedTask;
        if (x % 2 == 0) return "even " + await Half(x);
        try
        {
            await Half(x - 1);
            throw new InvalidOperationException("odd " + x);
        }
        catch (InvalidOperationException e) when (x > 10)
        {
            return "caught " + e.Message;
        }
    }

    private static async ValueTask<int> Half(int x)
    {
        await Task.CompletedTask;
        return x / 2;
    }

    public static string Constrained(int x) =>
        Describe(x) + "|" + Describe((long)x * 3) + "|" + Describe(new Pair(x, -x)) + "|" + Describe("s" + x);

    private static string Describe<T>(T value) where T : IComparable<T>
    {
        if (value.CompareTo(default!) > 0) return "+" + value.ToString();
        return value.GetHashCode() % 2 == 0 ? "even-hash" : value.ToString() ?? "";
    }

    private readonly record struct Pair(int A, int B) : IComparable<Pair>
    {
        public int CompareTo(Pair other) => A.CompareTo(other.A);
    }

    public static int Volatile(int x)
    {
        s_last = x;
        if (x > 10) return s_last;
        return x < -10 ? -s_last : s_last * 2;
    }

    public static string Nested(int x) => new Outer.Inner(x).Walk();

    public static class Outer
    {
        public sealed class Inner(int x)
        {
            public string Walk()
            {
                var sb = new StringBuilder();
                for (int v = Math.Abs(x % 1000); v > 1; v = v % 2 == 0 ? v / 2 : 3 * v + 1)
                    sb.Append(v % 2 == 0 ? 'e' : 'o');
                return sb.ToString();
            }
        }
    }
}
