using System.Collections.Concurrent;
using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Messages;
using Fuzz.Engine.Transport.Wire;

namespace Fuzz.Tests.Farm;

/// <summary>The merged-corpus log as a fresh reader sees it, for comparing it with a corpus directory.</summary>
internal static class MergedCorpusLog
{
    /// <summary>Reads the log from its first record, adding the name of every accepted input to <paramref name="names"/>, until disposed.</summary>
    public static Task<IAsyncDisposable> ReadNamesAsync(ITransport transport, ConcurrentDictionary<string, bool> names) =>
        transport.ReadLogAsync(Topology.Corpus, 0, r =>
        {
            if (FarmWire.TryDecode(r.Body.Span, Envelope.BodyOneofCase.Accepted, out var env) == Rejection.None)
                foreach (var i in env.Accepted.Inputs) names[i.Name] = true;
            return Task.CompletedTask;
        }, default);
}
