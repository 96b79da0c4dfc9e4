namespace Fuzz.Engine.Scheduling;

public enum WaitKind : byte { None, WhileEquals, UntilEquals }

/// <summary>
/// A coroutine actor. Its body yields <c>null</c> at every scheduling point (just before a shared
/// access) and calls another coroutine with <c>yield return machine.Call(callee)</c>; a callee's
/// result goes in <see cref="Ret"/>.
/// </summary>
/// <remarks>
/// A call hands the callee over in <see cref="Callee"/>, not as the yielded value, so a step never
/// reads <c>Current</c> (an interface call). Anything else yielded is a mistake the IL check in the
/// tests finds.
/// </remarks>
public sealed class Actor
{
    // A struct element: storing into an array of an interface type costs a type check per call.
    // Frames are held as the non-generic IEnumerator, where MoveNext is declared.
    private struct Frame { public System.Collections.IEnumerator Body; }

    private Frame[] _stack = new Frame[8];
    private int _depth;

    internal Actor(int id, string name, Co body)
    {
        Id = id;
        Name = name;
        _stack[0].Body = body;
        _depth = 1;
    }

    public int Id { get; }
    public string Name { get; }
    public bool Finished => _depth == 0;

    /// <summary>Steps this actor has run (its own progress, as opposed to the machine's clock).</summary>
    public long Steps { get; internal set; }

    /// <summary>Return register of the last completed call.</summary>
    public ulong Ret;

    /// <summary>What the actor is doing, for traces and reports.</summary>
    public string Operation = "";
    public int OperationIndex = -1;
    /// <summary>The vocabulary name of the operation running; what a crash key names.</summary>
    public string OperationName = "";

    /// <summary>What kind of operation the actor runs (the target's operation index + 1; 0 = none), as observers see it.</summary>
    public int Role;

    internal WaitKind Wait;
    internal ulong WaitAddr;
    internal ulong WaitValue;

    /// <summary>Block until the word at <paramref name="addr"/> no longer holds <paramref name="value"/> (a spin loop).</summary>
    public void WaitWhileEquals(ulong addr, ulong value)
    {
        Wait = WaitKind.WhileEquals;
        WaitAddr = addr;
        WaitValue = value;
    }

    /// <summary>Block until the word at <paramref name="addr"/> holds <paramref name="value"/>.</summary>
    public void WaitUntilEquals(ulong addr, ulong value)
    {
        Wait = WaitKind.UntilEquals;
        WaitAddr = addr;
        WaitValue = value;
    }

    /// <summary>The coroutine the running frame called at its last yield (see <see cref="Machine.Call"/>).</summary>
    internal System.Collections.IEnumerator? Callee;

    public bool IsWaitingOn(ulong addr) => Wait != WaitKind.None && WaitAddr == addr;

    /// <summary>Runs the actor up to its next scheduling point. Returns false when it has finished.</summary>
    internal bool Advance()
    {
        while (_depth > 0)
        {
            var top = _stack[_depth - 1].Body;
            if (top.MoveNext())
            {
                var callee = Callee;
                if (callee is null) return true;
                Callee = null;
                if (_depth == _stack.Length) Array.Resize(ref _stack, _depth * 2);
                _stack[_depth++].Body = callee;
                continue;
            }
            _stack[--_depth].Body = null!;
        }
        return false;
    }
}
