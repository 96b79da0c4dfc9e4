using Fuzz.Coverage;
using Fuzz.Engine.Storage;
using Mono.Cecil;
using Mono.Cecil.Cil;
using Mono.Cecil.Rocks;

namespace Fuzz.Instrumentation;

/// <summary>
/// Inserts AFL-style edge probes (<c>ldc.i4 id; call CoverageMap.Hit</c>) into every method body of
/// an assembly: at method entry, at every branch, leave and switch target, after every conditional
/// branch, and at every handler and filter start. The result carries <see cref="InstrumentedAttribute"/>,
/// so instrumenting it again changes nothing.
/// </summary>
public static class Instrumenter
{
    public static readonly string CoverageAssemblyName = typeof(CoverageMap).Assembly.GetName().Name!;
    private static readonly string MarkerName = typeof(InstrumentedAttribute).FullName!;

    public static InstrumentResult Instrument(string inputPath, string? outputPath, InstrumentOptions options)
    {
        if (string.IsNullOrWhiteSpace(inputPath)) throw new InstrumentationException("no assembly given");
        try
        {
            inputPath = Path.GetFullPath(inputPath);
            outputPath = Path.GetFullPath(outputPath ?? inputPath);
            if (!File.Exists(inputPath)) throw new InstrumentationException($"no such file: {inputPath}");

            using var resolver = new DefaultAssemblyResolver();
            resolver.AddSearchDirectory(Path.GetDirectoryName(inputPath)!);
            string coverageDir = Path.GetDirectoryName(typeof(CoverageMap).Assembly.Location) ?? "";
            if (coverageDir.Length > 0) resolver.AddSearchDirectory(coverageDir);

            using var dll = new MemoryStream();
            using var pdb = new MemoryStream();
            InstrumentResult result;
            using (var module = Read(inputPath, resolver))
                result = InstrumentModule(module, inputPath, outputPath, options, dll, pdb);
            // The input (and a symbol file the reader may hold open) is closed before anything is replaced.
            if (result.AlreadyInstrumented)
            {
                if (outputPath != inputPath) CopyWithSymbols(inputPath, outputPath);
                return result;
            }
            // The assembly goes last: a failure in between leaves it unmarked, and the next run redoes it.
            if (pdb.Length > 0) WriteAtomically(Path.ChangeExtension(outputPath, ".pdb"), pdb);
            WriteAtomically(outputPath, dll);
            return result;
        }
        catch (BadImageFormatException e)
        {
            throw new InstrumentationException($"{inputPath} is not a .NET assembly ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InstrumentationException($"cannot instrument {inputPath}: {e.Message}", e);
        }
        catch (SymbolsNotMatchingException e)
        {
            throw new InstrumentationException($"the .pdb next to {inputPath} does not match it ({e.Message}); rebuild or delete the .pdb", e);
        }
        catch (Exception e) when (e is not InstrumentationException)
        {
            throw new InstrumentationException($"cannot instrument {inputPath}: {e.GetType().Name}: {e.Message}", e);
        }
    }

    private static InstrumentResult InstrumentModule(
        ModuleDefinition module, string inputPath, string outputPath, InstrumentOptions options, Stream dll, Stream pdb)
    {
        if (module.Assembly is null) throw new InstrumentationException($"{inputPath} is a .NET module without an assembly manifest");
        string name = module.Assembly.Name.Name;
        if (name == CoverageAssemblyName) throw new InstrumentationException($"{inputPath} is the coverage runtime itself; it must never be instrumented");

        if (IsMarked(module.Assembly))
        {
            if (options.RawCopyPath is not null && RawCopyTarget(inputPath, options.RawCopyPath) is var raw && !File.Exists(raw))
                throw new InstrumentationException(
                    $"{inputPath} is already instrumented and its uninstrumented copy {raw} is gone; rebuild from source (dotnet build --no-incremental)");
            return new InstrumentResult(outputPath, AlreadyInstrumented: true, 0, 0, 0);
        }

        if (options.RawCopyPath is not null) CopyWithSymbols(inputPath, RawCopyTarget(inputPath, options.RawCopyPath));

        var filter = new MethodFilter(options.Include, options.Exclude);
        var hit = HitReference(module);
        var plans = new List<Plan>();
        foreach (var type in module.GetTypes())
        {
            if (TopLevel(type).Namespace == typeof(CoverageMap).Namespace) continue;
            foreach (var method in type.Methods)
            {
                if (!method.HasBody || method.Body.Instructions.Count == 0 || !filter.Accepts(method)) continue;
                if (PlanMethod(method, options.Prune) is { } plan) plans.Add(plan);
            }
        }
        var assigned = ProbeIds.Assign(name, plans.Select(p => p.Probes).ToList());
        var ids = new HashSet<int>();
        int methods = 0, probes = 0;
        for (int i = 0; i < plans.Count; i++)
        {
            InsertProbes(plans[i], assigned[i], hit);
            ids.UnionWith(assigned[i]);
            probes += assigned[i].Length;
            methods++;
        }
        module.Assembly.CustomAttributes.Add(Marker(module, probes));
        module.Write(dll, new WriterParameters
        {
            WriteSymbols = module.HasSymbols,
            SymbolWriterProvider = module.HasSymbols ? module.SymbolReader.GetWriterProvider() : null,
            SymbolStream = module.HasSymbols ? pdb : null,
            DeterministicMvid = true,
        });
        return new InstrumentResult(outputPath, AlreadyInstrumented: false, methods, probes, ids.Count);
    }

    /// <summary>True when the assembly at <paramref name="path"/> carries the instrumentation marker.</summary>
    public static bool IsInstrumented(string path)
    {
        try
        {
            using var module = ModuleDefinition.ReadModule(path, new ReaderParameters { InMemory = true });
            return module.Assembly is { } a && IsMarked(a);
        }
        catch (BadImageFormatException e)
        {
            throw new InstrumentationException($"{path} is not a .NET assembly ({e.Message})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InstrumentationException($"cannot read {path}: {e.Message}", e);
        }
    }

    /// <summary>A raw copy path naming a directory (existing, or ending in a separator) gets the input's file name.</summary>
    private static string RawCopyTarget(string inputPath, string rawCopyPath) =>
        Path.EndsInDirectorySeparator(rawCopyPath) || Directory.Exists(rawCopyPath)
            ? Path.Combine(Path.GetFullPath(rawCopyPath), Path.GetFileName(inputPath))
            : Path.GetFullPath(rawCopyPath);

    /// <summary>Copies an assembly and the .pdb next to it (if any), each through a temporary file and a rename.</summary>
    private static void CopyWithSymbols(string from, string to)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(to)!);
        string pdb = Path.ChangeExtension(from, ".pdb");
        if (File.Exists(pdb)) CopyAtomically(pdb, Path.ChangeExtension(to, ".pdb"));
        CopyAtomically(from, to);
    }

    private static void CopyAtomically(string from, string to) => AtomicFile.Write(to, File.ReadAllBytes(from), durable: false);

    private static void WriteAtomically(string path, MemoryStream content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        AtomicFile.Write(path, content.GetBuffer().AsSpan(0, (int)content.Length), durable: false);
    }

    private static ModuleDefinition Read(string path, IAssemblyResolver resolver) =>
        ModuleDefinition.ReadModule(path, new ReaderParameters(ReadingMode.Immediate)
        {
            InMemory = true,
            AssemblyResolver = resolver,
            ReadSymbols = true,
            SymbolReaderProvider = new DefaultSymbolReaderProvider(throwIfNoSymbol: false),
        });

    private static bool IsMarked(AssemblyDefinition assembly) =>
        assembly.CustomAttributes.Any(a => a.AttributeType.FullName == MarkerName);

    private static TypeDefinition TopLevel(TypeDefinition type)
    {
        while (type.DeclaringType is not null) type = type.DeclaringType;
        return type;
    }

    private static TypeReference CoverageType(ModuleDefinition module, string name)
    {
        var asmName = typeof(CoverageMap).Assembly.GetName();
        var reference = module.AssemblyReferences.FirstOrDefault(r => r.Name == asmName.Name);
        if (reference is null)
        {
            reference = new AssemblyNameReference(asmName.Name, asmName.Version) { PublicKeyToken = asmName.GetPublicKeyToken() ?? [] };
            module.AssemblyReferences.Add(reference);
        }
        return new TypeReference(typeof(CoverageMap).Namespace, name, module, reference);
    }

    private static MethodReference HitReference(ModuleDefinition module)
    {
        var hit = new MethodReference(nameof(CoverageMap.Hit), module.TypeSystem.Void, CoverageType(module, nameof(CoverageMap)));
        hit.Parameters.Add(new ParameterDefinition(module.TypeSystem.Int32));
        return hit;
    }

    private static CustomAttribute Marker(ModuleDefinition module, int probes)
    {
        var ctor = new MethodReference(".ctor", module.TypeSystem.Void, CoverageType(module, nameof(InstrumentedAttribute))) { HasThis = true };
        ctor.Parameters.Add(new ParameterDefinition(module.TypeSystem.Int32));
        var attribute = new CustomAttribute(ctor);
        attribute.ConstructorArguments.Add(new CustomAttributeArgument(module.TypeSystem.Int32, probes));
        return attribute;
    }

    /// <summary>Where one method's probes go (in IL order) and the edges between them its control flow allows.</summary>
    private sealed record Plan(MethodDefinition Method, List<Instruction> Points, MethodProbes Probes);

    /// <param name="prune">
    /// skip a method that is one straight-line block (no branch, switch or handler): its entry is
    /// implied by the calling block, so its probe adds a hit on every call and no information; and in a
    /// state machine's MoveNext, put the entry probe where the body starts (state 0) instead of on the
    /// dispatch every resumption runs; and leave out the blocks the others imply (<see cref="Dominance"/>)
    /// </param>
    /// <returns>null when the method gets no probes (its body is left as it was)</returns>
    private static Plan? PlanMethod(MethodDefinition method, bool prune)
    {
        var body = method.Body;
        uint token = method.MetadataToken.ToUInt32();
        var offsets = body.Instructions.ToDictionary(i => i, i => i.Offset);
        body.SimplifyMacros();

        var points = new HashSet<Instruction> { body.Instructions[0] };
        foreach (var ins in body.Instructions)
        {
            switch (ins.Operand)
            {
                case Instruction target: points.Add(target); break;
                case Instruction[] targets: points.UnionWith(targets); break;
            }
            if (ins.OpCode.FlowControl == FlowControl.Cond_Branch && ins.Next is { } fallThrough) points.Add(fallThrough);
        }
        foreach (var h in body.ExceptionHandlers)
        {
            points.Add(h.HandlerStart);
            if (h.FilterStart is { } filter) points.Add(filter);
        }

        if (prune && points.Count == 1)
        {
            body.OptimizeMacros();
            return null;
        }
        if (prune)
        {
            var leaders = points.ToList();
            var keep = new List<Instruction> { body.Instructions[0] };
            points.ExceptWith(ResumePoints(method));
            if (BodyStart(method) is { } start && !IsTarget(body, body.Instructions[0]))
            {
                points.Remove(body.Instructions[0]);
                points.Add(start);
                leaders.Add(start);
                keep.Add(start);
            }
            points.ExceptWith(Dominance.Implied(body, leaders, keep));
        }
        var ordered = points.Select(PrefixStart).Distinct().OrderBy(p => offsets[p]).ToList();
        return new Plan(method, ordered, new MethodProbes(token, ordered.Count, Edges(ordered)));
    }

    /// <summary>
    /// The probe-to-probe edges of the method's control flow: from each probe's block to the probes
    /// its branches, switches and fall-through reach. Calls in between are ignored.
    /// </summary>
    private static List<(int From, int To)> Edges(List<Instruction> points)
    {
        var index = new Dictionary<Instruction, int>();
        for (int i = 0; i < points.Count; i++) index[points[i]] = i;
        var edges = new HashSet<(int, int)>();
        var list = new List<(int From, int To)>();
        void Add(int from, Instruction to)
        {
            if (index.TryGetValue(PrefixStart(to), out int t) && edges.Add((from, t))) list.Add((from, t));
        }
        for (int i = 0; i < points.Count; i++)
        {
            for (var ins = points[i]; ins is not null; ins = ins.Next)
            {
                if (ins != points[i] && index.ContainsKey(ins))
                {
                    Add(i, ins);
                    break;
                }
                if (ins.Operand is Instruction target) Add(i, target);
                else if (ins.Operand is Instruction[] targets) foreach (var t in targets) Add(i, t);
                if (ins.OpCode.FlowControl is FlowControl.Branch or FlowControl.Return or FlowControl.Throw) break;
            }
        }
        return list;
    }

    private static void InsertProbes(Plan plan, int[] ids, MethodReference hit)
    {
        var body = plan.Method.Body;
        var probeOf = new Dictionary<Instruction, Instruction>();
        var il = body.GetILProcessor();
        for (int i = 0; i < plan.Points.Count; i++)
        {
            var point = plan.Points[i];
            var first = il.Create(OpCodes.Ldc_I4, ids[i]);
            il.InsertBefore(point, first);
            il.InsertBefore(point, il.Create(OpCodes.Call, hit));
            probeOf[point] = first;
        }

        foreach (var ins in body.Instructions)
        {
            if (ins.Operand is Instruction target && probeOf.TryGetValue(target, out var probe)) ins.Operand = probe;
            else if (ins.Operand is Instruction[] targets)
                for (int i = 0; i < targets.Length; i++)
                    if (probeOf.TryGetValue(targets[i], out var p)) targets[i] = p;
        }
        Instruction? Retarget(Instruction? boundary) => boundary is not null && probeOf.TryGetValue(boundary, out var p) ? p : boundary;
        foreach (var h in body.ExceptionHandlers)
        {
            h.TryStart = Retarget(h.TryStart);
            h.TryEnd = Retarget(h.TryEnd);
            h.HandlerStart = Retarget(h.HandlerStart);
            h.HandlerEnd = Retarget(h.HandlerEnd);
            h.FilterStart = Retarget(h.FilterStart);
        }

        body.OptimizeMacros();
    }

    /// <summary>
    /// In a compiler-generated state machine's MoveNext, the points only the state dispatch at its
    /// start (a switch or compare chain on <c>&lt;&gt;1__state</c>) leads to: each resume point continues
    /// the segment that set the state, whose probes ran, and the entry probe records the call itself.
    /// A point anything else branches or falls through to keeps its probe.
    /// </summary>
    private static HashSet<Instruction> ResumePoints(MethodDefinition method)
    {
        var none = new HashSet<Instruction>();
        if (method.Name != "MoveNext" || !method.DeclaringType.Fields.Any(f => f.Name == "<>1__state")) return none;
        var body = method.Body;
        var state = new HashSet<int>();
        var dispatch = new HashSet<Instruction>();
        var resume = new HashSet<Instruction>();
        var targets = new HashSet<Instruction>();
        for (var ins = body.Instructions[0]; ins is not null && !targets.Contains(ins); ins = ins.Next)
        {
            if (ins.OpCode.Code == Code.Stloc && ins.Previous is { OpCode.Code: Code.Ldfld, Operand: FieldReference { Name: "<>1__state" } })
                state.Add(((VariableDefinition)ins.Operand).Index);
            else if (ins.OpCode.FlowControl == FlowControl.Cond_Branch && LoadsState(ins, state))
            {
                dispatch.Add(ins);
                if (ins.Operand is Instruction t) targets.Add(t);
                else targets.UnionWith((Instruction[])ins.Operand);
                if (ins.Next is not null) resume.Add(ins.Next);
            }
            else if (ins.OpCode.Code is not (Code.Ldarg or Code.Ldfld or Code.Stloc or Code.Ldloc or Code.Ldc_I4 or Code.Sub)) break;
        }
        if (dispatch.Count == 0) return none;
        resume.UnionWith(targets);
        foreach (var i in body.Instructions)
        {
            if (dispatch.Contains(i)) continue;
            if (i.Operand is Instruction target) resume.Remove(target);
            else if (i.Operand is Instruction[] many) resume.ExceptWith(many);
            if (i.Next is { } next && i.OpCode.FlowControl is not (FlowControl.Branch or FlowControl.Return or FlowControl.Throw))
                resume.Remove(next);
        }
        foreach (var h in body.ExceptionHandlers)
        {
            resume.Remove(h.HandlerStart);
            if (h.FilterStart is { } f) resume.Remove(f);
            resume.Remove(h.TryStart);
        }
        resume.Remove(body.Instructions[0]);
        return resume;
    }

    /// <summary>
    /// In a state machine's MoveNext, where the state dispatch sends the first call: the dispatch is
    /// run on the first state, and where its last state-dependent jump (or a jump straight on
    /// from there) lands is the body's start. Null when the method is not one, or its dispatch does
    /// anything but load, subtract, compare and branch on the state.
    /// </summary>
    private static Instruction? BodyStart(MethodDefinition method)
    {
        if (method.Name != "MoveNext" || !method.DeclaringType.Fields.Any(f => f.Name == "<>1__state")) return null;
        // An iterator starts in state 0, an async method in state -1 (its awaits resume in 0, 1, ...).
        long first = method.DeclaringType.Interfaces.Any(i => i.InterfaceType.Name == "IAsyncStateMachine") ? -1 : 0;
        var stack = new Stack<(long? Value, bool State)>();
        var locals = new Dictionary<int, (long? Value, bool State)>();
        Instruction? landing = null;
        var ins = method.Body.Instructions[0];
        for (int guard = 0; ins is not null && guard < 256; guard++)
        {
            Instruction? jump = null;
            switch (ins.OpCode.Code)
            {
                case Code.Nop: break;
                case Code.Ldarg: stack.Push((null, false)); break;
                case Code.Ldfld:
                    if (stack.Count == 0) return landing;
                    stack.Pop();
                    stack.Push(ins.Operand is FieldReference { Name: "<>1__state" } ? (first, true) : (null, false));
                    break;
                case Code.Stloc:
                    if (stack.Count == 0) return landing;
                    locals[((VariableDefinition)ins.Operand).Index] = stack.Pop();
                    break;
                case Code.Ldloc: stack.Push(locals.GetValueOrDefault(((VariableDefinition)ins.Operand).Index)); break;
                case Code.Ldc_I4: stack.Push(((int)ins.Operand, false)); break;
                case Code.Sub:
                {
                    if (stack.Count < 2) return landing;
                    var (b, a) = (stack.Pop(), stack.Pop());
                    stack.Push((a.Value - b.Value, a.State || b.State));
                    break;
                }
                case Code.Br:
                    if (landing is not null && ins != landing) return landing;
                    jump = (Instruction)ins.Operand;
                    break;
                case Code.Switch:
                {
                    if (stack.Count == 0) return landing;
                    var v = stack.Pop();
                    if (!v.State) return landing;
                    if (v.Value is not { } n) return null;
                    var targets = (Instruction[])ins.Operand;
                    jump = n >= 0 && n < targets.Length ? targets[n] : ins.Next;
                    break;
                }
                case Code.Brtrue or Code.Brfalse:
                {
                    if (stack.Count == 0) return landing;
                    var v = stack.Pop();
                    if (!v.State) return landing;
                    if (v.Value is not { } n) return null;
                    jump = (n != 0) == (ins.OpCode.Code == Code.Brtrue) ? (Instruction)ins.Operand : ins.Next;
                    break;
                }
                case Code.Beq or Code.Bne_Un or Code.Bgt or Code.Bge or Code.Blt or Code.Ble
                    or Code.Bgt_Un or Code.Bge_Un or Code.Blt_Un or Code.Ble_Un:
                {
                    if (stack.Count < 2) return landing;
                    var (y, x) = (stack.Pop(), stack.Pop());
                    if (!x.State && !y.State) return landing;
                    if (x.Value is not { } a || y.Value is not { } b) return null;
                    var (ua, ub) = ((uint)a, (uint)b);
                    bool taken = ins.OpCode.Code switch
                    {
                        Code.Beq => a == b, Code.Bne_Un => a != b,
                        Code.Bgt => a > b, Code.Bge => a >= b, Code.Blt => a < b, Code.Ble => a <= b,
                        Code.Bgt_Un => ua > ub, Code.Bge_Un => ua >= ub, Code.Blt_Un => ua < ub, _ => ua <= ub,
                    };
                    jump = taken ? (Instruction)ins.Operand : ins.Next;
                    break;
                }
                default: return landing;
            }
            if (jump is not null) { landing = jump; ins = jump; }
            else ins = ins.Next;
        }
        return null;
    }

    private static bool IsTarget(MethodBody body, Instruction ins) =>
        body.Instructions.Any(i => i.Operand == ins || (i.Operand is Instruction[] many && Array.IndexOf(many, ins) >= 0))
        || body.ExceptionHandlers.Any(h => h.HandlerStart == ins || h.FilterStart == ins);

    /// <summary>The value the branch tests is a state local, possibly less a constant (<c>ldloc s; [ldc k; sub;] switch</c>, <c>ldloc s; [ldc k;] beq</c>).</summary>
    private static bool LoadsState(Instruction branch, HashSet<int> state)
    {
        var p = branch.Previous;
        if (p?.OpCode.Code == Code.Sub) p = p.Previous?.Previous;
        else if (p?.OpCode.Code == Code.Ldc_I4 && branch.OpCode.Code != Code.Switch) p = p.Previous;
        return p is { OpCode.Code: Code.Ldloc, Operand: VariableDefinition v } && state.Contains(v.Index);
    }

    /// <summary>A probe goes before the prefixes of an instruction, never between a prefix and what it modifies.</summary>
    private static Instruction PrefixStart(Instruction ins)
    {
        while (ins.Previous is { OpCode.OpCodeType: OpCodeType.Prefix } prefix) ins = prefix;
        return ins;
    }
}
