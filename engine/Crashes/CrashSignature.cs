using System.Text;
using Fuzz.Engine.Hashing;
using Fuzz.Engine.Input;

namespace Fuzz.Engine.Crashes;

/// <summary>
/// A crash's name: its key (invariant + the site that detected it) + the shape of the minimal
/// reproducer (which operations it needs, how many threads, how many preemptions). The same bug
/// found twice minimises to the same shape and so is one crash.
/// </summary>
public static class CrashSignature
{
    public static string Shape(ProgramInput minimized, int preemptions, Vocabulary vocab)
    {
        var names = minimized.Ops.Select(o => vocab.Ops[o.Op].Name).Order(StringComparer.Ordinal);
        return $"{string.Join('+', names)}/t{minimized.ActiveThreads}/p{preemptions}";
    }

    public static string Compute(CrashKey key, ProgramInput minimized, int preemptions, Vocabulary vocab) =>
        $"inv{key.Invariant}-{Slug(key.Where)}-{Fnv1a.Fold(Fnv1a.Hash(Shape(minimized, preemptions, vocab))):x8}";

    private static string Slug(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s) sb.Append(char.IsAsciiLetterOrDigit(c) || c == '_' ? c : '_');
        return sb.ToString();
    }
}
