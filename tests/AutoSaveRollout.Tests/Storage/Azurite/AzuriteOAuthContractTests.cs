using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Storage.Contracts;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Storage.Azurite;

// The identity path: the same contracts on Azurite over https with --oauth basic, reached through identity settings
// (Storage__blobServiceUri, Storage__queueServiceUri, Storage__credential) and a bearer token from EmulatorTokenCredential;
// the test transport trusts only the fixture's self-signed certificate. No account key is involved.

/// <summary>The blob contract on <see cref="AzureBlobStore"/> with a token credential over https.</summary>
[Collection(AzuriteOAuthCollection.Name)]
public sealed class AzuriteOAuthBlobStoreContractTests(AzuriteOAuthFixture azurite) : BlobStoreContract
{
    protected override Task<IBlobStore> CreateStoreAsync() => Task.FromResult<IBlobStore>(azurite.BlobStore());
}

/// <summary>The lock contract on <see cref="AzureBlobLeaseLock"/> with a token credential over https.</summary>
[Collection(AzuriteOAuthCollection.Name)]
public sealed class AzuriteOAuthDistributedLockContractTests(AzuriteOAuthFixture azurite) : DistributedLockContract
{
    protected override IDistributedLock CreateLock() => azurite.Lock();
}

/// <summary>The queue contract on <see cref="AzureQueueFactory"/> (Base64) with a token credential over https.</summary>
[Collection(AzuriteOAuthCollection.Name)]
public sealed class AzuriteOAuthQueueContractTests(AzuriteOAuthFixture azurite) : QueueContract
{
    protected override IQueueFactory CreateQueues() => azurite.Queues();
}
