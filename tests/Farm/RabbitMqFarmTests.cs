using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.RabbitMq;
using Fuzz.Tests.Transport;
using Xunit;

namespace Fuzz.Tests.Farm;

[Collection("broker")]
public sealed class RabbitMqFarmContractTests(BrokerFixture broker) : FarmContract
{
    private readonly string _farm = "f" + Guid.NewGuid().ToString("n")[..12];

    protected override Task<ITransport> OpenAsync() => Task.FromResult<ITransport>(new RabbitMqTransport(broker.Url, _farm));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await broker.DeleteFarmAsync(_farm);
    }
}
