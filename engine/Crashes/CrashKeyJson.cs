using System.Text.Json;
using System.Text.Json.Serialization;

namespace Fuzz.Engine.Crashes;

/// <summary>
/// A crash key in report.json and replay.json: an object with its three fields. Files written before
/// the key was typed hold it as "invariant:site" or "invariant:site in operation"; they are read too,
/// so crash directories and replay baselines of earlier runs stay known.
/// </summary>
public sealed class CrashKeyJson : JsonConverter<CrashKey>
{
    public override CrashKey? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return Legacy(reader.GetString()!);
        if (reader.TokenType != JsonTokenType.StartObject) throw new JsonException("a crash key is an object");
        int invariant = 0;
        string site = "", operation = "";
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            if (reader.TokenType != JsonTokenType.PropertyName) throw new JsonException("a crash key's fields");
            string name = reader.GetString()!;
            reader.Read();
            switch (name)
            {
                case nameof(CrashKey.Invariant): invariant = reader.GetInt32(); break;
                case nameof(CrashKey.Site): site = reader.GetString() ?? ""; break;
                case nameof(CrashKey.Operation): operation = reader.GetString() ?? ""; break;
                default: reader.Skip(); break;
            }
        }
        return new CrashKey(invariant, site, operation);
    }

    public override void Write(Utf8JsonWriter writer, CrashKey value, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteNumber(nameof(CrashKey.Invariant), value.Invariant);
        writer.WriteString(nameof(CrashKey.Site), value.Site);
        writer.WriteString(nameof(CrashKey.Operation), value.Operation);
        writer.WriteEndObject();
    }

    private static CrashKey Legacy(string text)
    {
        int colon = text.IndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(0, colon), out int invariant)) throw new JsonException($"not a crash key: '{text}'");
        string where = text[(colon + 1)..];
        int inOp = where.IndexOf(" in ", StringComparison.Ordinal);
        return inOp < 0 ? new CrashKey(invariant, where) : new CrashKey(invariant, where[..inOp], where[(inOp + 4)..]);
    }
}
