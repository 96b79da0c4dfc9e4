using Fuzz.Engine.Transport;
using Fuzz.Engine.Transport.RabbitMq;
using Xunit;

namespace Fuzz.Tests.Transport;

/// <summary>The transport contract on a real broker; each test is a farm of its own, deleted afterwards.</summary>
[Collection("broker")]
public sealed class RabbitMqTransportTests(BrokerFixture broker) : TransportContract
{
    private readonly string _farm = $"test-{Guid.NewGuid():N}";

    protected override Task<ITransport> OpenAsync() => Task.FromResult<ITransport>(new RabbitMqTransport(broker.Url, _farm));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await broker.DeleteFarmAsync(_farm);
    }
}
