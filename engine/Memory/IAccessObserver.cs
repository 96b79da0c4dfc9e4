namespace Fuzz.Engine.Memory;

/// <summary>Told of the accesses that order two actors; see <see cref="SimMemory"/> for which those are.</summary>
public interface IAccessObserver
{
    /// <summary>
    /// Two different actors touched the same word back to back, at least one of them writing (two
    /// reads in a row order nothing). <paramref name="word"/> is the word's index in <paramref name="target"/>.
    /// </summary>
    void Conflict(Access previous, Access current, in SimMemory.ObjectInfo target, int word);
}
