using System.Security.Cryptography;
using Fuzz.Engine.Input;
using Fuzz.Engine.Storage;

namespace Fuzz.Engine.Corpus;

public sealed record CorpusEntryFile(string Path, byte[] Data);

public sealed record RejectedFile(string Path, string Reason);

/// <summary>An input with its content address, hashed once where it enters a process and carried from there.</summary>
public readonly record struct NamedInput(string Name, byte[] Data)
{
    public static NamedInput Of(byte[] data) => new(CorpusStore.NameOf(data), data);
}

public sealed record CorpusLoad(IReadOnlyList<CorpusEntryFile> Good, IReadOnlyList<RejectedFile> Bad);

/// <summary>A content-addressed corpus directory: each input is a file named by the SHA-256 of its bytes.</summary>
public sealed class CorpusStore
{
    public CorpusStore(string dir)
    {
        Dir = dir;
        Directory.CreateDirectory(dir);
    }

    public string Dir { get; }

    public static string NameOf(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    /// <summary>
    /// Writes the input unless a file with its name exists; returns the name. Atomic but not flushed
    /// to the disk: inputs are many, and one lost to a power cut is found again.
    /// </summary>
    public string Add(ReadOnlySpan<byte> data)
    {
        string name = NameOf(data);
        Add(name, data);
        return name;
    }

    /// <summary>As <see cref="Add(ReadOnlySpan{byte})"/>, for an input whose name was computed already.</summary>
    public void Add(string name, ReadOnlySpan<byte> data)
    {
        string path = System.IO.Path.Combine(Dir, name);
        if (!File.Exists(path)) AtomicFile.Write(path, data, durable: false);
    }

    public string PathOf(string name) => System.IO.Path.Combine(Dir, name);

    /// <summary>Loads several directories in turn; a directory that does not exist is listed as bad.</summary>
    public static CorpusLoad Load(IEnumerable<string> dirs, ProgramCodec codec, Vocabulary vocab)
    {
        var good = new List<CorpusEntryFile>();
        var bad = new List<RejectedFile>();
        foreach (var d in dirs)
        {
            if (!Directory.Exists(d))
            {
                bad.Add(new RejectedFile(d, "no such directory"));
                continue;
            }
            var l = Load(d, codec, vocab);
            good.AddRange(l.Good);
            bad.AddRange(l.Bad);
        }
        return new CorpusLoad(good, bad);
    }

    /// <summary>
    /// Reads every file under <paramref name="dir"/> in name order. Files that cannot be read or are
    /// not canonical programs are listed with the reason and skipped; nothing here throws for a bad file.
    /// </summary>
    public static CorpusLoad Load(string dir, ProgramCodec codec, Vocabulary vocab)
    {
        var good = new List<CorpusEntryFile>();
        var bad = new List<RejectedFile>();
        string[] files;
        try
        {
            files = Directory.GetFiles(dir, "*", SearchOption.AllDirectories);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            bad.Add(new RejectedFile(dir, $"unreadable directory: {e.Message}"));
            return new CorpusLoad(good, bad);
        }
        Array.Sort(files, StringComparer.Ordinal);
        foreach (var f in files)
        {
            if (AtomicFile.IsTemporary(f))
            {
                bad.Add(new RejectedFile(f, "leftover temporary file of an interrupted write"));
                continue;
            }
            if (System.IO.Path.GetFileName(f).StartsWith('.') || f.EndsWith(".md", StringComparison.OrdinalIgnoreCase)) continue;
            byte[] data;
            try
            {
                var info = new FileInfo(f);
                if (info.Length > ProgramInput.MaxEncodedBytes)
                {
                    bad.Add(new RejectedFile(f, $"oversized: {info.Length} bytes, the largest program is {ProgramInput.MaxEncodedBytes}"));
                    continue;
                }
                data = File.ReadAllBytes(f);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                bad.Add(new RejectedFile(f, $"unreadable: {e.Message}"));
                continue;
            }
            if (CorpusFile.Validate(data, codec, vocab) is { } reason) bad.Add(new RejectedFile(f, reason));
            else good.Add(new CorpusEntryFile(f, data));
        }
        return new CorpusLoad(good, bad);
    }
}
