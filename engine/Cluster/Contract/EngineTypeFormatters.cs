using Fuzz.Engine.Crashes;
using Fuzz.Engine.Minimization;
using MessagePack;
using MessagePack.Formatters;

namespace Fuzz.Engine.Cluster.Contract;

// The engine's own data types on the wire, the one place they are converted: the engine does not
// depend on MessagePack, so they carry no attributes and are written as fixed arrays here. A
// decoded array may be longer (keys a later version added) but never shorter.

internal sealed class CrashKeyFormatter : IMessagePackFormatter<CrashKey?>
{
    public static readonly CrashKeyFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, CrashKey? key, MessagePackSerializerOptions options)
    {
        if (key is null) { writer.WriteNil(); return; }
        writer.WriteArrayHeader(3);
        writer.Write(key.Invariant);
        writer.Write(key.Site);
        writer.Write(key.Operation);
    }

    public CrashKey? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil()) return null;
        int n = EngineTypeArrays.ReadHeader(ref reader, 3, nameof(CrashKey));
        var key = new CrashKey(reader.ReadInt32(), EngineTypeArrays.ReadString(ref reader), EngineTypeArrays.ReadString(ref reader));
        EngineTypeArrays.SkipRest(ref reader, n - 3);
        return key;
    }
}

internal sealed class ProgramShapeFormatter : IMessagePackFormatter<ProgramShape?>
{
    public static readonly ProgramShapeFormatter Instance = new();

    public void Serialize(ref MessagePackWriter writer, ProgramShape? s, MessagePackSerializerOptions options)
    {
        if (s is null) { writer.WriteNil(); return; }
        writer.WriteArrayHeader(6);
        writer.Write(s.Ops);
        writer.Write(s.Threads);
        writer.Write(s.Preemptions);
        writer.Write(s.ContextSwitches);
        writer.Write(s.Steps);
        writer.Write(s.Choices);
    }

    public ProgramShape? Deserialize(ref MessagePackReader reader, MessagePackSerializerOptions options)
    {
        if (reader.TryReadNil()) return null;
        int n = EngineTypeArrays.ReadHeader(ref reader, 6, nameof(ProgramShape));
        var s = new ProgramShape(reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt32(), reader.ReadInt64(), reader.ReadInt32());
        EngineTypeArrays.SkipRest(ref reader, n - 6);
        return s;
    }
}

internal static class EngineTypeArrays
{
    public static int ReadHeader(ref MessagePackReader reader, int fields, string type)
    {
        int n = reader.ReadArrayHeader();
        if (n < fields) throw new MessagePackSerializationException($"{type} has {n} fields, expected {fields}");
        return n;
    }

    public static string ReadString(ref MessagePackReader reader) =>
        reader.ReadString() ?? throw new MessagePackSerializationException("nil where a string was expected");

    public static void SkipRest(ref MessagePackReader reader, int extra)
    {
        for (int i = 0; i < extra; i++) reader.Skip();
    }
}
