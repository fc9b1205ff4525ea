using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Storage.Contracts;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Storage.Azurite;

/// <summary>The backend-neutral blob contract run against <see cref="AzureBlobStore"/> on the shared Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzuriteBlobStoreContractTests(AzuriteFixture azurite) : BlobStoreContract, IDisposable
{
    private readonly HttpClient _http = azurite.CreateHttpClient();

    protected override Task<IBlobStore> CreateStoreAsync() => Task.FromResult<IBlobStore>(azurite.BlobStore());

    public void Dispose() => _http.Dispose();
}
