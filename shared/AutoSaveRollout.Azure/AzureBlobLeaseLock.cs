using Azure;
using Azure.Storage.Blobs.Specialized;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Azure;

/// <summary>
/// <see cref="IDistributedLock"/> as a blob lease (<see cref="BlobLeaseClient"/>) on <c>{container}/{name}</c> (container
/// <c>locks</c> by default), the mechanism the Functions host uses for singletons. Acquire: Lease Blob <c>acquire</c> with
/// a 15–60 s duration and a proposed lease id (fresh per attempt, so an SDK retry of a lost answer re-acquires its own
/// lease). A missing lock blob (404) is created empty with <c>If-None-Match: *</c> and the acquire retried once. 409
/// <c>LeaseAlreadyPresent</c> means another holder: <see cref="TryAcquireAsync"/> returns null.
/// </summary>
public sealed class AzureBlobLeaseLock : IDistributedLock
{
    private readonly AzureBlobStore _store;
    private readonly string _container;

    /// <summary>
    /// Creates the lock service on <paramref name="store"/>'s account. <paramref name="container"/> holds the lock blobs
    /// (default <c>locks</c>, created on demand). Throws <see cref="ArgumentException"/> for an invalid container name.
    /// </summary>
    public AzureBlobLeaseLock(AzureBlobStore store, string container = "locks")
    {
        _store = store ?? throw new ArgumentNullException(nameof(store));
        BlobPath.ValidateContainer(container, container);
        _container = container;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="duration"/>, rounded up to whole seconds, is outside 15–60 s (Lease Blob limits; infinite leases are not offered).</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid blob name.</exception>
    public Task<ILockHandle?> TryAcquireAsync(string name, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var seconds = (long)Math.Ceiling(duration.TotalSeconds);
        if (seconds is < 15 or > 60)
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "Blob lease duration must be 15–60 seconds (learn \"Lease Blob\").");
        var blob = BlobPath.Parse($"{_container}/{name}");
        var client = _store.Container(blob).GetBlobBaseClient(blob.Name);
        return _store.Failure.RunAsync("Lease Blob (acquire)", blob.Path, async () =>
        {
            for (var attempt = 0; ; attempt++)
            {
                var lease = client.GetBlobLeaseClient(Guid.NewGuid().ToString());
                try
                {
                    await lease.AcquireAsync(TimeSpan.FromSeconds(seconds), conditions: null, cancellationToken).ConfigureAwait(false);
                    return (ILockHandle?)new Handle(lease, blob.Path, _store.Failure);
                }
                catch (RequestFailedException ex) when (ex.Status == 409 && ex.ErrorCode == "LeaseAlreadyPresent")
                {
                    return null;
                }
                catch (RequestFailedException ex) when (ex.Status == 404 && attempt == 0)
                {
                    await CreateLockBlobAsync(blob, cancellationToken).ConfigureAwait(false);
                }
            }
        }, cancellationToken);
    }

    private async Task CreateLockBlobAsync(BlobPath blob, CancellationToken cancellationToken)
    {
        try
        {
            await _store.PutAsync(blob.Path, ReadOnlyMemory<byte>.Empty, WriteCondition.IfNotExists, cancellationToken).ConfigureAwait(false);
        }
        catch (ConcurrencyConflictException)
        {
            // Another instance created it first: fine, the lease decides who holds the lock.
        }
        catch (StorageException ex) when (ex.Status == 412 && ex.ErrorCode is "LeaseIdMissing")
        {
            // Created and already leased by another instance.
        }
    }

    /// <summary>A held lease. Renew extends it by its original duration; dispose releases it (failures ignored: it then expires).</summary>
    private sealed class Handle(BlobLeaseClient lease, string path, StorageFailure failure) : ILockHandle
    {
        private int _disposed;

        public async Task RenewAsync(CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            try
            {
                await failure.RunAsync("Lease Blob (renew)", path, async () =>
                {
                    await lease.RenewAsync(conditions: null, cancellationToken).ConfigureAwait(false);
                    return true;
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (StorageException inner)
            {
                throw new StorageException($"Lock '{path}' was lost: {inner.Message}", inner.Status, inner.ErrorCode, inner.IsTransient, inner)
                    { RetriedByClient = inner.RetriedByClient };
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            try
            {
                await lease.ReleaseAsync(conditions: null, CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception ex) when (failure.Map("Lease Blob (release)", path, ex, CancellationToken.None) is not null)
            {
                // Unreachable storage or a lost lease: the lease expires on its own after its duration.
            }
        }
    }
}
