using System.Globalization;
using System.Net;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Azure;

/// <summary>
/// <see cref="IDistributedLock"/> as a blob lease on <c>{container}/{name}</c> (container <c>locks</c> by default), the
/// same mechanism the Functions host uses for singletons (fact sheet B3). Acquire: Lease Blob
/// <c>PUT ?comp=lease</c> with <c>x-ms-lease-action: acquire</c>, <c>x-ms-lease-duration</c> 15–60 s and a proposed lease id
/// (201). A missing lock blob (404) is created empty with <c>If-None-Match: *</c> and the acquire retried once. 409
/// <c>LeaseAlreadyPresent</c> means another holder: <see cref="TryAcquireAsync"/> returns null.
/// </summary>
public sealed class AzureBlobLeaseLock : IDistributedLock
{
    private readonly AzureBlobStore _store;
    private readonly string _container;

    /// <summary>
    /// Creates the lock service. <paramref name="container"/> holds the lock blobs (default <c>locks</c>, created on demand).
    /// Throws <see cref="ArgumentException"/> for an invalid container name or a connection string without blob endpoint.
    /// </summary>
    public AzureBlobLeaseLock(StorageConnectionString connectionString, HttpClient http, TimeProvider? timeProvider = null, string container = "locks")
    {
        _store = new AzureBlobStore(connectionString, http, timeProvider);
        BlobPath.ValidateContainer(container, container);
        _container = container;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="duration"/>, rounded up to whole seconds, is outside 15–60 s (Lease Blob limits; infinite leases are not offered).</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid blob name.</exception>
    public async Task<ILockHandle?> TryAcquireAsync(string name, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        var seconds = (long)Math.Ceiling(duration.TotalSeconds);
        if (seconds is < 15 or > 60)
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "Blob lease duration must be 15–60 seconds (learn \"Lease Blob\").");
        var blob = BlobPath.Parse($"{_container}/{name}");
        var pipeline = _store.Pipeline;
        const string op = "Lease Blob (acquire)";
        for (var attempt = 0; ; attempt++)
        {
            var leaseId = Guid.NewGuid().ToString();
            using var response = await pipeline.SendAsync(HttpMethod.Put, pipeline.BuildUri(blob.EscapedPath, ("comp", "lease")), op, blob.Path,
                request =>
                {
                    request.Headers.TryAddWithoutValidation("x-ms-lease-action", "acquire");
                    request.Headers.TryAddWithoutValidation("x-ms-lease-duration", seconds.ToString(CultureInfo.InvariantCulture));
                    request.Headers.TryAddWithoutValidation("x-ms-proposed-lease-id", leaseId);
                },
                new ByteArrayContent([]), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created)
            {
                var granted = response.Headers.TryGetValues("x-ms-lease-id", out var ids) ? ids.FirstOrDefault() ?? leaseId : leaseId;
                return new Handle(pipeline, blob, granted);
            }
            var code = await StorageHttpPipeline.ReadErrorCodeAsync(response, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Conflict && code == "LeaseAlreadyPresent") return null;
            if (response.StatusCode == HttpStatusCode.NotFound && attempt == 0)
            {
                await CreateLockBlobAsync(blob, cancellationToken).ConfigureAwait(false);
                continue;
            }
            throw pipeline.Error((int)response.StatusCode, code, op, blob.Path, response);
        }
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
    private sealed class Handle(StorageHttpPipeline pipeline, BlobPath blob, string leaseId) : ILockHandle
    {
        private int _disposed;

        public async Task RenewAsync(CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            const string op = "Lease Blob (renew)";
            using var response = await SendLeaseAsync("renew", op, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.OK) return;
            var code = await StorageHttpPipeline.ReadErrorCodeAsync(response, cancellationToken).ConfigureAwait(false);
            var inner = pipeline.Error((int)response.StatusCode, code, op, blob.Path, response);
            throw new StorageException($"Lock '{blob.Path}' was lost: {inner.Message}", inner.Status, inner.ErrorCode, inner.IsTransient);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
            try
            {
                using var response = await SendLeaseAsync("release", "Lease Blob (release)", CancellationToken.None).ConfigureAwait(false);
            }
            catch (StorageException)
            {
                // Unreachable storage or a lost lease: the lease expires on its own after its duration.
            }
        }

        private Task<HttpResponseMessage> SendLeaseAsync(string action, string op, CancellationToken cancellationToken) =>
            pipeline.SendAsync(HttpMethod.Put, pipeline.BuildUri(blob.EscapedPath, ("comp", "lease")), op, blob.Path,
                request =>
                {
                    request.Headers.TryAddWithoutValidation("x-ms-lease-action", action);
                    request.Headers.TryAddWithoutValidation("x-ms-lease-id", leaseId);
                },
                new ByteArrayContent([]), cancellationToken: cancellationToken);
    }
}
