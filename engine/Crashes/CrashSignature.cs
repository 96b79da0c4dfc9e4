using System.Text;
using Fuzz.Engine.Input;
using Fuzz.Engine.Invariants;

namespace Fuzz.Engine.Crashes;

/// <summary>
/// A crash's identity: invariant id + the model site that detected it + the shape of the minimal
/// reproducer (which operations it needs, how many threads, how many preemptions). The same bug
/// found twice minimises to the same shape and so is one crash.
/// </summary>
public static class CrashSignature
{
    /// <summary>The part that must never change while minimising.</summary>
    public static string Key(InvariantViolation v) => $"{v.Id}:{Site(v)}";

    /// <summary>
    /// The detecting site. The runtime's own detectors (simulated memory, the scheduler) catch
    /// faults on behalf of whatever ran, so the operation that ran is added to theirs; a violation
    /// that names no site is known by its operation alone.
    /// </summary>
    public static string Site(InvariantViolation v)
    {
        string op = OperationName(v.Operation);
        if (v.Site.Length == 0) return op.Length > 0 ? op : "unknown";
        return v.Site == RuntimeSite && op.Length > 0 ? $"{v.Site} in {op}" : v.Site;
    }

    /// <summary>Where the simulated memory reports use-after-free, double free and wild pointers.</summary>
    public const string RuntimeSite = "SimMemory";

    /// <summary>"page_fault" from "#3 page_fault(slot=0, ...)".</summary>
    private static string OperationName(string operation)
    {
        int start = operation.IndexOf(' ') + 1, paren = operation.IndexOf('(');
        return paren > start ? operation[start..paren] : operation;
    }

    public static string Shape(ProgramInput minimized, int preemptions, Vocabulary vocab)
    {
        var names = minimized.Ops.Select(o => vocab.Ops[o.Op].Name).Order(StringComparer.Ordinal);
        int threads = minimized.Ops.Select(o => o.Thread).Distinct().Count();
        return $"{string.Join('+', names)}/t{threads}/p{preemptions}";
    }

    public static string Compute(InvariantViolation v, ProgramInput minimized, int preemptions, Vocabulary vocab) =>
        $"inv{v.Id}-{Slug(Site(v))}-{Hash8(Shape(minimized, preemptions, vocab))}";

    private static string Slug(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s) sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        return sb.ToString();
    }

    private static string Hash8(string s)
    {
        ulong h = 0xcbf29ce484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(s)) h = (h ^ b) * 0x100000001b3UL;
        return ((uint)(h ^ (h >> 32))).ToString("x8");
    }
}
