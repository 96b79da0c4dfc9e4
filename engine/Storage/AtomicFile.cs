namespace Fuzz.Engine.Storage;

/// <summary>Files are written to a temporary name in the same directory, flushed, then renamed over the target.</summary>
public static class AtomicFile
{
    public const string TempMarker = ".tmp-";
    private static long _sequence;

    /// <summary><paramref name="durable"/>: flush to the disk before the rename (survives power loss, not only a crash).</summary>
    public static void Write(string path, ReadOnlySpan<byte> bytes, bool durable = true)
    {
        string tmp = $"{path}{TempMarker}{Environment.ProcessId}-{Interlocked.Increment(ref _sequence)}";
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                fs.Write(bytes);
                fs.Flush(flushToDisk: durable);
            }
            File.Move(tmp, path, overwrite: true);
        }
        catch
        {
            try { File.Delete(tmp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    public static void WriteText(string path, string text) => Write(path, System.Text.Encoding.UTF8.GetBytes(text));

    public static bool IsTemporary(string path) => Path.GetFileName(path).Contains(TempMarker, StringComparison.Ordinal);
}
