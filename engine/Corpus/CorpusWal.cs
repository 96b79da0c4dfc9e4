using System.Buffers.Binary;
using System.Collections.Concurrent;
using Fuzz.Engine.Hashing;

namespace Fuzz.Engine.Corpus;

/// <summary>
/// The write-ahead log in front of a <see cref="CorpusStore"/>: a batch of inputs is appended in one
/// write and flushed to the disk before <see cref="Append"/> returns, so it survives a power cut;
/// the content-addressed files are then written in the background. Opening the log writes every
/// file a crash left unwritten and cuts off a record torn by the crash.
/// Record: u32 length, u64 FNV-1a of the bytes, the bytes.
/// </summary>
public sealed class CorpusWal : IDisposable
{
    public const int MaxRecord = 16 << 20;
    private const int Header = 12;
    /// <summary>The file writer's nice value: creating files costs CPU the merge path and fuzz loops need more.</summary>
    private const int WriterNice = 10;

    private readonly FileStream _log;
    private readonly BlockingCollection<NamedInput> _pending = new();
    private readonly Thread _writer;
    private readonly Lock _append = new();
    private long _queued, _written;
    private Exception? _failure;

    public CorpusWal(string path, CorpusStore store)
    {
        Store = store;
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        _log = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var (records, end) = Read(_log);
        if (end < _log.Length)
        {
            TornBytes = _log.Length - end;
            using (var rest = new FileStream($"{path}.torn", FileMode.Append, FileAccess.Write))
            {
                _log.Seek(end, SeekOrigin.Begin);
                _log.CopyTo(rest);
                rest.Flush(flushToDisk: true);
            }
            _log.SetLength(end);
            _log.Flush(flushToDisk: true);
        }
        _log.Seek(end, SeekOrigin.Begin);
        Records = records.Count;
        foreach (var data in records)
        {
            string name = CorpusStore.NameOf(data);
            if (File.Exists(store.PathOf(name))) continue;
            store.Add(name, data);
            Recovered++;
        }
        _writer = new Thread(WriteFiles) { IsBackground = true, Name = "corpus file writer" };
        _writer.Start();
    }

    public CorpusStore Store { get; }
    public string Path { get; }

    /// <summary>Records in the log when it was opened.</summary>
    public int Records { get; }

    /// <summary>Files written on opening because a crash came between the log and the file.</summary>
    public int Recovered { get; }

    /// <summary>Bytes after the last whole record (cut short by a crash), moved to <c>&lt;log&gt;.torn</c> on opening.</summary>
    public long TornBytes { get; }

    /// <summary>Inputs queued for their file and not written yet.</summary>
    public long Pending => Interlocked.Read(ref _queued) - Interlocked.Read(ref _written);

    /// <summary>Appends the inputs and flushes them to the disk; their files follow in the background.</summary>
    public void Append(IReadOnlyList<NamedInput> inputs)
    {
        if (inputs.Count == 0) return;
        int size = 0;
        foreach (var (_, d) in inputs)
        {
            if (d.Length > MaxRecord) throw new ArgumentException($"an input of {d.Length} bytes is over the log's {MaxRecord}-byte limit");
            size += Header + d.Length;
        }
        var buffer = new byte[size];
        int at = 0;
        foreach (var (_, d) in inputs)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), (uint)d.Length);
            BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(at + 4), Fnv1a.Hash(d));
            d.CopyTo(buffer.AsSpan(at + Header));
            at += Header + d.Length;
        }
        lock (_append)
        {
            _log.Write(buffer);
            _log.Flush(flushToDisk: true);
        }
        foreach (var input in inputs) Materialize(input);
    }

    /// <summary>Queues a file write for an input kept durably elsewhere (e.g. learnt from the broker's log).</summary>
    public void Materialize(NamedInput input)
    {
        Interlocked.Increment(ref _queued);
        try { _pending.Add(input); }
        catch (InvalidOperationException)
        {
            // Closed: the input is durable where it came from, and its file is written on the next opening.
            Interlocked.Increment(ref _written);
        }
    }

    /// <summary>Waits until every queued file is written; throws what made a write fail.</summary>
    public async Task WaitWrittenAsync(CancellationToken cancel)
    {
        while (Pending > 0)
        {
            if (_failure is { } f) throw new IOException($"writing the corpus files failed: {f.Message}", f);
            await Task.Delay(5, cancel).ConfigureAwait(false);
        }
    }

    private void WriteFiles()
    {
        Nice(WriterNice);
        foreach (var (name, data) in _pending.GetConsumingEnumerable())
        {
            try { Store.Add(name, data); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { _failure = e; }
            Interlocked.Increment(ref _written);
        }
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int setpriority(int which, int who, int prio);

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int gettid();

    /// <summary>Lowers the calling thread's priority where the OS allows it (Linux: per-thread nice).</summary>
    private static void Nice(int value)
    {
        if (!OperatingSystem.IsLinux()) return;
        try { setpriority(0, gettid(), value); }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException) { }
    }

    /// <summary>Every whole record, and where the whole records end.</summary>
    public static (List<byte[]> Records, long End) Read(Stream s)
    {
        var list = new List<byte[]>();
        s.Seek(0, SeekOrigin.Begin);
        long end = 0;
        var header = new byte[Header];
        while (true)
        {
            if (s.ReadAtLeast(header, Header, throwOnEndOfStream: false) < Header) break;
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(header);
            ulong sum = BinaryPrimitives.ReadUInt64LittleEndian(header.AsSpan(4));
            if (len > MaxRecord) break;
            var data = new byte[len];
            if (s.ReadAtLeast(data, (int)len, throwOnEndOfStream: false) < len || Fnv1a.Hash(data) != sum) break;
            list.Add(data);
            end += Header + len;
        }
        return (list, end);
    }

    /// <summary>Writes what is queued, then closes the log.</summary>
    public void Dispose()
    {
        _pending.CompleteAdding();
        _writer.Join();
        lock (_append) _log.Dispose();
    }
}
