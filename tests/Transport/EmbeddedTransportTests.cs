using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Embedded;

namespace Fuzz.Tests.Transport;

public sealed class EmbeddedTransportTests : TransportContract
{
    private readonly EmbeddedBroker _broker = new();

    protected override Task<ITransport> OpenAsync() => Task.FromResult<ITransport>(new EmbeddedTransport(_broker));
}
