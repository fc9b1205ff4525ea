using Azure.Storage.Queues;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Storage.Contracts;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Storage.Azurite;

/// <summary>The backend-neutral queue contract run against <see cref="AzureQueueFactory"/> (Base64 encoding, the default) on the shared Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzuriteQueueContractTests(AzuriteFixture azurite) : QueueContract, IDisposable
{
    private readonly HttpClient _http = azurite.CreateHttpClient();

    protected override IQueueFactory CreateQueues() => azurite.Queues();

    public void Dispose() => _http.Dispose();
}

/// <summary>The same queue contract with <see cref="QueueMessageEncoding.None"/> (XML-escaped text on the wire).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzuriteQueueNoEncodingContractTests(AzuriteFixture azurite) : QueueContract, IDisposable
{
    private readonly HttpClient _http = azurite.CreateHttpClient();

    protected override IQueueFactory CreateQueues() => azurite.Queues(QueueMessageEncoding.None);

    public void Dispose() => _http.Dispose();
}
