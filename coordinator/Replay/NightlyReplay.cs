using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Fuzz.Engine.Corpus;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Fuzzing;
using Fuzz.Engine.Storage;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.Wire;
using Google.Protobuf;

namespace Fuzz.Coordinator.Replay;

/// <summary>One replayed corpus entry or crash: the verdict now and what was expected.</summary>
public sealed record ReplayedEntry(
    string Name, string Kind, bool Fails, CrashKey? Key, string Detail, uint Features, string FeatureHash, string Signature, string ExpectedSignature, string By);

public sealed record CoverageDrift(int? BaselineFeatures, int Features, int? BaselineEntries, int EntriesWithChangedCoverage, int EntriesThatLostFeatures, int NewEntries, int EntriesGone);

public sealed record ReplayReport(
    string Target, IReadOnlyList<string> Bugs, string Executor, int CorpusEntries, int Crashes, double Seconds,
    IReadOnlyList<ReplayedEntry> NewlyFailing, IReadOnlyList<ReplayedEntry> Fixed, IReadOnlyList<ReplayedEntry> StillFailing,
    IReadOnlyList<ReplayedEntry> ChangedSignature, CoverageDrift Drift, IReadOnlyList<RejectedFile> BadFiles, IReadOnlyList<ReplayedEntry> Entries)
{
    /// <summary>A corpus entry that fails now is a regression; so is a known crash that now fails differently.</summary>
    public bool Regressed => NewlyFailing.Count > 0;
}

/// <summary>Replays one chunk of entries here, as a worker does with a replay task. Not thread-safe.</summary>
public delegate ReplayResults ChunkReplayer(IEnumerable<ReplayItem> items, CancellationToken cancel);

/// <summary>
/// The nightly job: replay every corpus entry and every known crash against the current model,
/// here or spread over workers as tasks, and compare with what they were (corpus entries pass,
/// crashes fail with their signature) and with the previous replay's coverage.
/// </summary>
/// <param name="local">makes a replayer for the chunks replayed here (one per thread)</param>
public sealed class NightlyReplay(string target, IReadOnlyCollection<string> bugs, Func<ChunkReplayer> local)
{
    public const int DefaultChunk = 500;

    public event Action<string>? Log;

    public sealed record Item(string Name, string Kind, byte[] Data, string ExpectedSignature);

    /// <summary>Corpus files (any name) and crash directories (crashes/&lt;signature&gt;/minimized, or input).</summary>
    public static (List<Item> Items, List<RejectedFile> Bad) Collect(IEnumerable<string> corpusDirs, IEnumerable<string> crashDirs, IFuzzTarget t)
    {
        var items = new List<Item>();
        var bad = new List<RejectedFile>();
        var load = CorpusStore.Load(corpusDirs, t.Codec, t.Vocabulary);
        bad.AddRange(load.Bad);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var f in load.Good)
            if (seen.Add(CorpusStore.NameOf(f.Data))) items.Add(new Item(Path.GetFileName(f.Path), "corpus", f.Data, ""));
        foreach (var root in crashDirs)
        {
            if (!Directory.Exists(root)) { bad.Add(new RejectedFile(root, "no such directory")); continue; }
            foreach (var dir in Directory.GetDirectories(root).Order(StringComparer.Ordinal))
            {
                string sig = Path.GetFileName(dir);
                string file = File.Exists(Path.Combine(dir, "minimized")) ? Path.Combine(dir, "minimized") : Path.Combine(dir, "input");
                if (!File.Exists(Path.Combine(dir, "report.json"))) continue;
                try
                {
                    var data = File.ReadAllBytes(file);
                    if (data.Length == 0) { bad.Add(new RejectedFile(file, "empty")); continue; }
                    items.Add(new Item(sig, "crash", data, sig));
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    bad.Add(new RejectedFile(file, e.Message));
                }
            }
        }
        return (items, bad);
    }

    /// <summary>Replays on this machine, one thread per core.</summary>
    public (List<ReplayedEntry> Entries, HashSet<uint> Features) RunLocally(IReadOnlyList<Item> items, int chunk, CancellationToken cancel)
    {
        var chunks = items.Chunk(Math.Max(1, chunk)).ToList();
        var results = new ConcurrentBag<(ReplayResults R, Item[] Items)>();
        int next = -1;
        var threads = Enumerable.Range(0, Math.Min(Environment.ProcessorCount, Math.Max(1, chunks.Count))).Select(_ => new Thread(() =>
        {
            var replay = local();
            int i;
            while ((i = Interlocked.Increment(ref next)) < chunks.Count && !cancel.IsCancellationRequested)
                results.Add((replay(chunks[i].Select(ToWire), cancel), chunks[i]));
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        cancel.ThrowIfCancellationRequested();
        return Merge(results.Select(r => (r.R, r.Items, "local")));
    }

    /// <summary>Replays as tasks on the workers of a farm, waiting for every chunk's result.</summary>
    public async Task<(List<ReplayedEntry> Entries, HashSet<uint> Features)> RunOnWorkersAsync(
        ITransport transport, IReadOnlyList<Item> items, int chunk, TimeSpan timeout, CancellationToken cancel)
    {
        await transport.ConnectAsync(cancel).ConfigureAwait(false);
        string reply = await transport.CreateReplyQueueAsync(cancel).ConfigureAwait(false);
        var chunks = items.Chunk(Math.Max(1, chunk)).Select((c, i) => (Id: $"replay-{Guid.NewGuid():N}-{i}", Items: c)).ToList();
        var byId = chunks.ToDictionary(c => c.Id, c => c.Items);
        var results = new ConcurrentDictionary<string, (ReplayResults R, string By)>();
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (chunks.Count == 0) done.TrySetResult();
        var envelopes = new EnvelopeFactory($"replay-{Environment.MachineName}-{Environment.ProcessId}", FarmWire.Campaign(target, bugs));
        await using var sub = await transport.ConsumeAsync(reply, 64, async d =>
        {
            if (FarmWire.TryDecode(d.Body.Span, Envelope.BodyOneofCase.TaskResult, out var env) == Rejection.None && byId.ContainsKey(env.TaskResult.TaskId))
            {
                var r = env.TaskResult;
                if (r.KindCase == TaskResult.KindOneofCase.Replay && results.TryAdd(r.TaskId, (r.Replay, env.Sender)))
                {
                    Log?.Invoke($"chunk {results.Count}/{chunks.Count} replayed by {env.Sender}");
                    if (results.Count == chunks.Count) done.TrySetResult();
                }
                else if (r.KindCase == TaskResult.KindOneofCase.Failed) Log?.Invoke($"{env.Sender} could not replay a chunk: {r.Failed}");
                await d.AckAsync().ConfigureAwait(false);
            }
            else await d.DeadLetterAsync().ConfigureAwait(false);
        }, cancel).ConfigureAwait(false);
        foreach (var (id, chunkItems) in chunks)
        {
            var env = envelopes.New();
            env.Task = new FarmTask { Id = id, ReplyTo = reply, Target = target, Bugs = { bugs }, Replay = new ReplayChunk { Items = { chunkItems.Select(ToWire) } } };
            await transport.PublishAsync(Topology.Tasks, FarmWire.Encode(env), cancel).ConfigureAwait(false);
        }
        Log?.Invoke($"{chunks.Count} chunks of up to {chunk} entries sent to the workers of {transport.Description}");
        try
        {
            await done.Task.WaitAsync(timeout, cancel).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            var missing = chunks.Where(c => !results.ContainsKey(c.Id)).ToList();
            Log?.Invoke($"{missing.Count} chunks not replayed by a worker within {timeout.TotalSeconds:0}s; replaying them here");
            var replay = local();
            foreach (var (id, chunkItems) in missing) results[id] = (replay(chunkItems.Select(ToWire), cancel), "local");
        }
        return Merge(chunks.Select(c => (results[c.Id].R, c.Items, results[c.Id].By)));
    }

    private static ReplayItem ToWire(Item i) => new() { Name = i.Name, Kind = i.Kind, Data = ByteString.CopyFrom(i.Data) };

    private static (List<ReplayedEntry>, HashSet<uint>) Merge(IEnumerable<(ReplayResults R, Item[] Items, string By)> parts)
    {
        var entries = new List<ReplayedEntry>();
        var features = new HashSet<uint>();
        foreach (var (r, items, by) in parts)
        {
            features.UnionWith(r.Features);
            foreach (var (v, item) in r.Verdicts.Zip(items))
                entries.Add(new ReplayedEntry(item.Name, item.Kind, v.Violation, WireTypes.FromWire(v.Key), v.Detail, v.FeatureCount, v.FeatureHash.ToString("x16"), v.Signature, item.ExpectedSignature, by));
        }
        entries.Sort((a, b) => (a.Kind, a.Name).CompareTo((b.Kind, b.Name)));
        return (entries, features);
    }

    public ReplayReport Report(List<ReplayedEntry> entries, HashSet<uint> features, ReplayReport? baseline, IReadOnlyList<RejectedFile> bad, string executor, double seconds)
    {
        var corpus = entries.Where(e => e.Kind == "corpus").ToList();
        var crashes = entries.Where(e => e.Kind == "crash").ToList();
        var before = baseline?.Entries.Where(e => e.Kind == "corpus").ToDictionary(e => e.Name, StringComparer.Ordinal);
        int changed = 0, lost = 0, fresh = 0;
        if (before is not null)
            foreach (var e in corpus)
            {
                if (!before.TryGetValue(e.Name, out var b)) { fresh++; continue; }
                if (b.FeatureHash != e.FeatureHash) changed++;
                if (e.Features < b.Features) lost++;
            }
        int gone = before is null ? 0 : before.Keys.Count(k => !corpus.Any(e => e.Name == k));
        var drift = new CoverageDrift(baseline?.Drift.Features, features.Count, before?.Count, changed, lost, fresh, gone);
        return new ReplayReport(target, bugs.Order(StringComparer.Ordinal).ToList(), executor, corpus.Count, crashes.Count, Math.Round(seconds, 2),
            corpus.Where(e => e.Fails).ToList(), crashes.Where(e => !e.Fails).ToList(),
            crashes.Where(e => e.Fails && e.Signature == e.ExpectedSignature).ToList(),
            crashes.Where(e => e.Fails && e.Signature != e.ExpectedSignature).ToList(), drift, bad, entries);
    }

    public static void Write(ReplayReport r, string outDir)
    {
        Directory.CreateDirectory(outDir);
        AtomicFile.Write(Path.Combine(outDir, "replay.json"), JsonSerializer.SerializeToUtf8Bytes(r, new JsonSerializerOptions { WriteIndented = true }));
        AtomicFile.WriteText(Path.Combine(outDir, "replay.md"), Markdown(r));
    }

    public static ReplayReport? ReadBaseline(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<ReplayReport>(File.ReadAllBytes(path)) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static string Markdown(ReplayReport r)
    {
        var md = new StringBuilder();
        md.AppendLine($"# Nightly replay: {(r.Regressed ? "REGRESSION" : "no regression")}");
        md.AppendLine();
        md.AppendLine($"- **target**: `{r.Target}`, bugs: {(r.Bugs.Count > 0 ? string.Join(", ", r.Bugs.Select(b => $"`{b}`")) : "none")}");
        md.AppendLine($"- **replayed**: {r.CorpusEntries} corpus entries and {r.Crashes} crashes in {r.Seconds:F1} s ({r.Executor})");
        md.AppendLine($"- **newly failing corpus entries**: {r.NewlyFailing.Count}");
        md.AppendLine($"- **crashes fixed** (no longer fail): {r.Fixed.Count}");
        md.AppendLine($"- **crashes still failing**: {r.StillFailing.Count}, with a different signature: {r.ChangedSignature.Count}");
        var d = r.Drift;
        md.AppendLine($"- **coverage**: {d.Features} features{(d.BaselineFeatures is { } bf ? $" (previous replay: {bf}, {d.Features - bf:+#;-#;0})" : " (no previous replay to compare with)")}" +
                      (d.BaselineEntries is not null ? $"; {d.EntriesWithChangedCoverage} entries changed coverage, {d.EntriesThatLostFeatures} lost features, {d.NewEntries} new, {d.EntriesGone} gone" : ""));
        if (r.BadFiles.Count > 0) md.AppendLine($"- **unreadable files skipped**: {r.BadFiles.Count}");
        void Table(string title, IReadOnlyList<ReplayedEntry> rows, bool expected)
        {
            if (rows.Count == 0) return;
            md.AppendLine();
            md.AppendLine($"## {title}");
            md.AppendLine();
            md.AppendLine(expected ? "| crash | now | detail |" : "| entry | invariant and site | detail |");
            md.AppendLine("|---|---|---|");
            foreach (var e in rows) md.AppendLine($"| `{e.Name}` | {(expected ? (e.Fails ? $"`{e.Signature}`" : "passes") : $"`{e.Key}`")} | {e.Detail.Replace("|", "\\|")} |");
        }
        Table("Newly failing corpus entries", r.NewlyFailing, false);
        Table("Fixed crashes", r.Fixed, true);
        Table("Crashes that fail with another signature", r.ChangedSignature, true);
        foreach (var b in r.BadFiles) md.AppendLine($"- skipped `{b.Path}`: {b.Reason}");
        return md.ToString();
    }
}
