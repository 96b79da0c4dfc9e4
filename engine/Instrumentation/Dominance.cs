using Mono.Cecil.Cil;

namespace Fuzz.Instrumentation;

/// <summary>
/// SanitizerCoverage's pruning on one method's basic blocks: a block need not be probed when it
/// dominates all its successors (reaching any of them means it ran), or when it post-dominates all
/// of two or more predecessors (any of them running means it will). The entry, handler and filter
/// starts and every block inside an exception region keep their probes: an exception leaves a
/// block without going to its successors.
/// </summary>
internal static class Dominance
{
    /// <summary>The blocks starting at <paramref name="leaders"/> whose probes the control flow implies.</summary>
    public static HashSet<Instruction> Implied(MethodBody body, IReadOnlyCollection<Instruction> leaders, IReadOnlyCollection<Instruction> keep)
    {
        var ins = body.Instructions;
        var index = new Dictionary<Instruction, int>();
        var starts = new List<Instruction>();
        var blockOf = new int[ins.Count];
        var leaderSet = leaders.ToHashSet();
        for (int i = 0; i < ins.Count; i++)
        {
            if (i == 0 || leaderSet.Contains(ins[i]))
            {
                index[ins[i]] = starts.Count;
                starts.Add(ins[i]);
            }
            blockOf[i] = starts.Count - 1;
        }
        int n = starts.Count;
        var succ = new List<int>[n];
        var pred = new List<int>[n];
        for (int b = 0; b < n; b++) { succ[b] = new(); pred[b] = new(); }
        var position = new Dictionary<Instruction, int>();
        for (int i = 0; i < ins.Count; i++) position[ins[i]] = i;
        void Edge(int from, Instruction to)
        {
            int t = blockOf[position[to]];
            if (!succ[from].Contains(t)) { succ[from].Add(t); pred[t].Add(from); }
        }
        for (int i = 0; i < ins.Count; i++)
        {
            bool last = i + 1 == ins.Count || blockOf[i + 1] != blockOf[i];
            if (!last) continue;
            var x = ins[i];
            int b = blockOf[i];
            if (x.Operand is Instruction target) Edge(b, target);
            else if (x.Operand is Instruction[] targets) foreach (var t in targets) Edge(b, t);
            bool fallsThrough = x.OpCode.FlowControl is not (FlowControl.Branch or FlowControl.Return or FlowControl.Throw);
            if (fallsThrough && i + 1 < ins.Count) Edge(b, ins[i + 1]);
        }

        var roots = new List<int> { 0 };
        var fixedBlocks = new HashSet<int> { 0 };
        foreach (var k in keep) if (index.TryGetValue(k, out int kb)) fixedBlocks.Add(kb);
        foreach (var h in body.ExceptionHandlers)
        {
            foreach (var s in new[] { h.HandlerStart, h.FilterStart })
                if (s is not null && index.TryGetValue(s, out int hb)) roots.Add(hb);
            int from = position[h.TryStart], to = h.HandlerEnd is null ? ins.Count : position[h.HandlerEnd];
            for (int i = from; i < to; i++) fixedBlocks.Add(blockOf[i]);
        }
        fixedBlocks.UnionWith(roots);

        var dom = Dominators(n, roots, pred, succ);
        var exits = Enumerable.Range(0, n).Where(b => succ[b].Count == 0).ToList();
        var postDom = Dominators(n, exits, succ, pred);

        var implied = new HashSet<Instruction>();
        for (int b = 0; b < n; b++)
        {
            if (fixedBlocks.Contains(b) || dom[b] is null || postDom[b] is null) continue;
            bool fullDominator = succ[b].Count > 0 && succ[b].All(s => dom[s] is { } d && d.Contains(b));
            bool fullPostDominator = pred[b].Count > 1 && pred[b].All(p => postDom[p] is { } d && d.Contains(b));
            if (fullDominator || fullPostDominator) implied.Add(starts[b]);
        }
        return implied;
    }

    /// <summary>Each block's dominators from <paramref name="roots"/> along <paramref name="next"/>; null for a block the roots do not reach.</summary>
    private static HashSet<int>?[] Dominators(int n, List<int> roots, List<int>[] into, List<int>[] next)
    {
        var reached = new bool[n];
        var order = new List<int>();
        var stack = new Stack<int>(roots);
        foreach (int r in roots) reached[r] = true;
        while (stack.Count > 0)
        {
            int b = stack.Pop();
            order.Add(b);
            foreach (int s in next[b])
                if (!reached[s]) { reached[s] = true; stack.Push(s); }
        }
        var all = order.ToHashSet();
        var dom = new HashSet<int>?[n];
        foreach (int b in order) dom[b] = roots.Contains(b) ? [b] : new HashSet<int>(all);
        for (bool changed = true; changed;)
        {
            changed = false;
            foreach (int b in order)
            {
                if (roots.Contains(b)) continue;
                HashSet<int>? meet = null;
                foreach (int p in into[b])
                {
                    if (dom[p] is not { } d) continue;
                    if (meet is null) meet = new HashSet<int>(d);
                    else meet.IntersectWith(d);
                }
                meet ??= [];
                meet.Add(b);
                if (!meet.SetEquals(dom[b]!)) { dom[b] = meet; changed = true; }
            }
        }
        return dom;
    }
}
