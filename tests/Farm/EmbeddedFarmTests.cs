using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.Embedded;

namespace Fuzz.Tests.Farm;

public sealed class EmbeddedFarmContractTests : FarmContract
{
    private readonly EmbeddedBroker _broker = new();

    protected override Task<ITransport> OpenAsync() => Task.FromResult<ITransport>(new EmbeddedTransport(_broker));
}
