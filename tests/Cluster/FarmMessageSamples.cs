using Fuzz.Engine.Cluster.Contract;
using Fuzz.Engine.Crashes;
using Fuzz.Engine.Minimization;

namespace Fuzz.Tests.Cluster;

/// <summary>One message of every kind, each field set to something other than its default, so a field lost on the way shows.</summary>
internal static class FarmMessageSamples
{
    public static readonly FarmHeader Header = new(FarmHeader.ProtocolVersion, "worker-1@127.0.0.1:4053", "mmu+stale-fault", 1_796_000_000_123);

    private static readonly CrashKey Key = new(4, "kvm_rmap_unlock_readonly");
    private static readonly CrashKey RuntimeKey = new(9, "SimMemory", "page_fault");

    public static byte[] Bytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static IReadOnlyList<IFarmMessage> All { get; } =
    [
        new NewInputs(Header, [new ReportedInput(7, Bytes(40, 1), [3, 99, 65_535], 12_345, 1_796_000_000_001), new ReportedInput(8, Bytes(3, 2), [1], 12_400, 1_796_000_000_002)], 6),
        new ReportedCrash(Header, 9, Bytes(64, 3), RuntimeKey, "use after free of rmap 0x10220", 20_000, 3.25, 8),
        new ReportsAck(Header, 9, [11, 12]),
        new Heartbeat(Header, 2, 229_376, 22_916.5, 8634, 21_896, 3156, 619, 4, 8634, 17, [0, 3, 5, 1]),
        new Leaving(Header),
        new TaskRequest(Header, 3),
        new ReplayTask(Header, "replay-0001", "mmu", ["stale-fault", "ro-unlock-empty"],
            [new ReplayItem("ab12", Bytes(30, 4), ReplayItemKind.Corpus), new ReplayItem("inv4-x-1fec0d4a", Bytes(9, 5), ReplayItemKind.Crash)]),
        new MinimizeTask(Header, "min-0002", "mmu", ["ro-unlock-empty"], Bytes(50, 6), Key, 30.5),
        new ReplayResult(Header, "replay-0001",
            [new ReplayVerdict("ab12", ReplayItemKind.Corpus, null, "", 120, 0xcbf2_9ce4_8422_2325, ""),
             new ReplayVerdict("inv4-x-1fec0d4a", ReplayItemKind.Crash, Key, "read-only unlock writes", 33, 17, "inv4-kvm_rmap_unlock_readonly-1fec0d4a")],
            [1, 2, 3, 40_000]),
        new MinimizedCrash(Header, "min-0002", Bytes(50, 6), Bytes(12, 7), Key, new ProgramShape(11, 3, 13, 20, 400, 60), new ProgramShape(2, 2, 1, 2, 30, 4), 0.125, 312, true),
        new TaskFailed(Header, "min-0003", "unknown bug 'nope'"),
        new Accepted(Header, 8633, [new AcceptedInput("5e88489", Bytes(25, 8), [7, 8], "worker-2", 1_796_000_000_050)]),
        new CorpusRequest(Header, 4096),
        new FiledCrash(Header, "inv4-kvm_rmap_unlock_readonly-1fec0d4a", "{\"key\":{}}", "# report", Bytes(40, 9), Bytes(8, 10), "t0 page_fault\n"),
        new Refused(Header, "this farm runs campaign mmu+ro-unlock-empty"),
    ];

    /// <summary>A corpus batch of about <paramref name="bytes"/> bytes, in inputs of 4 KiB.</summary>
    public static NewInputs Batch(int bytes) => new(Header,
        Enumerable.Range(0, bytes / 4096).Select(i => new ReportedInput((ulong)i + 1, Bytes(4096, i), [(uint)i, (uint)i + 1], i, 1_796_000_000_000 + i)).ToArray());
}
