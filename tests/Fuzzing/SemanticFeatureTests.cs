using Fuzz.Engine.Feedback;
using Fuzz.Engine.Invariants;
using Fuzz.Engine.Scheduling;
using Xunit;

namespace Fuzz.Tests.Fuzzing;

/// <summary>Interleaving features: two actors' back-to-back accesses to one word count when at least one writes.</summary>
public class SemanticFeatureTests
{
    public enum Access { Read, Write, Add, ReadConst }

    /// <summary>The semantic map of actor 0 accessing a word, then actor 1 accessing the same word or another.</summary>
    private static byte[] Map(Access first, Access second, bool sameWord)
    {
        var map = new byte[SemanticFeatures.BufferSize];
        var m = new Machine(RuntimeInvariants.Default) { Observer = new SemanticFeatures(map) };
        m.Reset();
        ulong a = m.Memory.Alloc(1, kind: 1), b = m.Memory.Alloc(1, kind: 1);
        void Do(Access kind, ulong w)
        {
            switch (kind)
            {
                case Access.Read: m.Memory.Read(w); break;
                case Access.ReadConst: m.Memory.ReadConst(w); break;
                case Access.Write: m.Memory.Write(w, 1); break;
                default: m.Memory.FetchAdd(w, 1); break;
            }
        }
        IEnumerator<object?> Body(Access kind, ulong w)
        {
            yield return null;
            Do(kind, w);
        }
        m.Spawn("t0", Body(first, a));
        m.Spawn("t1", Body(second, sameWord ? a : b));
        m.Run(new InputStrategy([]));
        return map;
    }

    [Theory]
    [InlineData(Access.Write, Access.Read)]
    [InlineData(Access.Read, Access.Write)]
    [InlineData(Access.Write, Access.Write)]
    [InlineData(Access.Add, Access.Read)]
    [InlineData(Access.Read, Access.Add)]
    public void A_conflicting_pair_on_one_word_is_a_feature(Access first, Access second) =>
        Assert.NotEqual(Map(first, second, sameWord: false), Map(first, second, sameWord: true));

    [Fact]
    public void Two_reads_in_a_row_are_not() =>
        Assert.Equal(Map(Access.Read, Access.Read, sameWord: false), Map(Access.Read, Access.Read, sameWord: true));

    [Fact]
    public void A_const_read_is_not()
    {
        Assert.NotEqual(Map(Access.Write, Access.Read, sameWord: false), Map(Access.Write, Access.Read, sameWord: true));
        Assert.Equal(Map(Access.Write, Access.ReadConst, sameWord: false), Map(Access.Write, Access.ReadConst, sameWord: true));
    }
}
