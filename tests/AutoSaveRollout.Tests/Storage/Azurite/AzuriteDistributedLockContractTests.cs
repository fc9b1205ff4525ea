using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Storage.Contracts;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Storage.Azurite;

/// <summary>The backend-neutral lock contract run against <see cref="AzureBlobLeaseLock"/> (blob leases in <c>locks</c>) on the shared Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzuriteDistributedLockContractTests(AzuriteFixture azurite) : DistributedLockContract, IDisposable
{
    private readonly HttpClient _http = azurite.CreateHttpClient();

    protected override IDistributedLock CreateLock() => azurite.Lock();

    public void Dispose() => _http.Dispose();
}
