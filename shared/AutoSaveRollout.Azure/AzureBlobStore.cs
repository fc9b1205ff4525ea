using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Azure;

/// <summary>
/// <see cref="IBlobStore"/> on Azure Blob storage (or Azurite) through the Azure SDK (<see cref="BlobServiceClient"/>,
/// <see cref="BlockBlobClient"/>, <see cref="AppendBlobClient"/>). A path <c>{container}/{name}</c> is the container and
/// blob name. Containers are created on demand: a write answered 404 <c>ContainerNotFound</c> creates the container
/// (<see cref="BlobContainerClient.CreateIfNotExistsAsync(PublicAccessType, IDictionary{string, string}, BlobContainerEncryptionScopeOptions, CancellationToken)"/>)
/// and is retried once. Failures are <see cref="StorageException"/>s carrying the HTTP status and <c>x-ms-error-code</c>
/// of the SDK's <see cref="RequestFailedException"/>; authentication (Shared Key, SAS or token) is the client's.
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    /// <summary>
    /// Largest Append Block body this adapter sends: 4 MiB, the limit for versions before 2022-11-02 (learn "Append Block";
    /// 100 MiB since then). Larger <see cref="AppendAsync"/> inputs are split into several blocks.
    /// </summary>
    public const int MaxAppendBlockBytes = 4 * 1024 * 1024;

    private readonly StorageFailure _failure;

    /// <summary>
    /// Creates the store on <paramref name="service"/> (its options decide service version, retries and transport;
    /// build it with <see cref="AzureStorageRegistration"/>). <paramref name="maxRetries"/> is the client's retry count,
    /// used to mark failures it already retried (<see cref="StorageException.RetriedByClient"/>).
    /// </summary>
    public AzureBlobStore(BlobServiceClient service, int maxRetries)
    {
        Service = service ?? throw new ArgumentNullException(nameof(service));
        _failure = new StorageFailure("Blob", maxRetries);
    }

    /// <summary>The SDK client.</summary>
    public BlobServiceClient Service { get; }

    /// <summary>
    /// <c>maxresults</c> per List Blobs / List Containers page; null lets the service choose (5,000). Tests lower it to
    /// exercise continuation.
    /// </summary>
    internal int? ListPageSize { get; set; }

    internal StorageFailure Failure => _failure;

    /// <inheritdoc />
    /// <remarks>Download (<see cref="BlobBaseClient.DownloadContentAsync(CancellationToken)"/>); 404 → null.</remarks>
    public Task<BlobContent?> TryGetAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        return _failure.RunAsync("Get Blob", blob.Path, async () =>
        {
            try
            {
                var result = await Blob(blob).DownloadContentAsync(cancellationToken).ConfigureAwait(false);
                return (BlobContent?)new BlobContent(result.Value.Content.ToArray(), result.Value.Details.ETag.ToString());
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return null;
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="BlobBaseClient.DownloadStreamingAsync(BlobDownloadOptions, CancellationToken)"/>: the body streams from the
    /// response; the SDK resumes an interrupted read with a ranged request for the same version. 404 → null.
    /// </remarks>
    public Task<Stream?> TryOpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        return _failure.RunAsync("Get Blob", blob.Path, async () =>
        {
            try
            {
                var result = await Blob(blob).DownloadStreamingAsync(new BlobDownloadOptions(), cancellationToken).ConfigureAwait(false);
                return (Stream?)result.Value.Content;
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                return null;
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Put Blob (<see cref="BlockBlobClient.UploadAsync(Stream, BlobUploadOptions, CancellationToken)"/>).
    /// <see cref="WriteCondition.IfNotExists"/> sends <c>If-None-Match: *</c> (an existing blob answers 409
    /// <c>BlobAlreadyExists</c>); <see cref="WriteCondition.IfMatch"/> sends <c>If-Match</c> (412 <c>ConditionNotMet</c>, or
    /// 404 when the blob is gone). All three become <see cref="ConcurrencyConflictException"/>. If the SDK retries a write
    /// whose first answer was lost, a conditional write can report a conflict with itself; callers re-read, as for any conflict.
    /// </remarks>
    public Task<string> PutAsync(string path, ReadOnlyMemory<byte> content, WriteCondition condition, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        return _failure.RunAsync("Put Blob", blob.Path, async () =>
        {
            var conditions = condition.Kind switch
            {
                WriteConditionKind.IfNotExists => new BlobRequestConditions { IfNoneMatch = ETag.All },
                WriteConditionKind.IfMatch => new BlobRequestConditions { IfMatch = new ETag(condition.ETag!) },
                _ => null,
            };
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    using var stream = new ReadOnlyMemoryStream(content);
                    var response = await Container(blob).GetBlockBlobClient(blob.Name)
                        .UploadAsync(stream, new BlobUploadOptions { Conditions = conditions }, cancellationToken).ConfigureAwait(false);
                    return response.Value.ETag.ToString();
                }
                // If-Match cannot succeed in a missing container: report the conflict without creating it.
                catch (RequestFailedException ex) when (ex.ErrorCode == "ContainerNotFound" && attempt == 0 && condition.Kind != WriteConditionKind.IfMatch)
                {
                    await CreateContainerAsync(blob, cancellationToken).ConfigureAwait(false);
                }
                catch (RequestFailedException ex) when (IsConflict(ex, condition))
                {
                    throw new ConcurrencyConflictException(blob.Path, ex.Status, ex.ErrorCode);
                }
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Put Blob with <c>x-ms-blob-type: AppendBlob</c> (<see cref="AppendBlobClient.CreateAsync(AppendBlobCreateOptions, CancellationToken)"/>).</remarks>
    public Task CreateAppendBlobAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        return _failure.RunAsync("Put Blob (AppendBlob)", blob.Path, async () =>
        {
            await WithContainerAsync(blob, () => AppendBlob(blob).CreateAsync(new AppendBlobCreateOptions(), cancellationToken), cancellationToken)
                .ConfigureAwait(false);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// Append Block in pieces of at most <see cref="MaxAppendBlockBytes"/>; a missing blob (404 <c>BlobNotFound</c> /
    /// <c>ContainerNotFound</c>) is created with <c>If-None-Match: *</c> and the append retried once. A multi-piece append is
    /// not atomic: a failure part-way leaves the earlier pieces appended. 409 <c>BlockCountExceedsLimit</c> (50,000 blocks)
    /// and 409 <c>InvalidBlobType</c> are permanent <see cref="StorageException"/>s. An empty <paramref name="block"/> only
    /// makes sure the blob exists.
    /// </remarks>
    public Task AppendAsync(string path, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        return _failure.RunAsync("Append Block", blob.Path, async () =>
        {
            if (block.IsEmpty)
            {
                await EnsureAppendBlobAsync(blob, cancellationToken).ConfigureAwait(false);
                return true;
            }
            for (var offset = 0; offset < block.Length; offset += MaxAppendBlockBytes)
            {
                var piece = block.Slice(offset, Math.Min(MaxAppendBlockBytes, block.Length - offset));
                for (var attempt = 0; ; attempt++)
                {
                    try
                    {
                        using var stream = new ReadOnlyMemoryStream(piece);
                        await AppendBlob(blob).AppendBlockAsync(stream, new AppendBlobAppendBlockOptions(), cancellationToken).ConfigureAwait(false);
                        break;
                    }
                    catch (RequestFailedException ex) when (ex.Status == 404 && attempt == 0 && ex.ErrorCode is "BlobNotFound" or "ContainerNotFound" or null)
                    {
                        await EnsureAppendBlobAsync(blob, cancellationToken).ConfigureAwait(false);
                    }
                }
            }
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>
    /// List Blobs page by page. A prefix without '/' is a prefix of container names: matching containers are listed and
    /// their blobs merged into ordinal path order. A missing container lists nothing.
    /// </remarks>
    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var slash = prefix.IndexOf('/');
        if (slash >= 0)
        {
            var container = prefix[..slash];
            BlobPath.ValidateContainer(container, prefix);
            foreach (var name in await ListBlobNamesAsync(container, prefix[(slash + 1)..], cancellationToken).ConfigureAwait(false))
                yield return $"{container}/{name}";
            yield break;
        }

        // Container-name prefix: ordinal order of "container/name" differs from container-by-container order
        // ("a-b/x" < "a/x"), so collect and sort.
        var containers = await _failure.RunAsync("List Containers", prefix, async () =>
        {
            var names = new List<string>();
            await foreach (var page in Service.GetBlobContainersAsync(BlobContainerTraits.None, BlobContainerStates.None, prefix.Length > 0 ? prefix : null, cancellationToken)
                               .AsPages(pageSizeHint: ListPageSize).ConfigureAwait(false))
                names.AddRange(page.Values.Select(c => c.Name));
            return names;
        }, cancellationToken).ConfigureAwait(false);
        var all = new List<string>();
        foreach (var container in containers)
            all.AddRange((await ListBlobNamesAsync(container, "", cancellationToken).ConfigureAwait(false)).Select(name => $"{container}/{name}"));
        all.Sort(StringComparer.Ordinal);
        foreach (var path in all) yield return path;
    }

    /// <inheritdoc />
    /// <remarks>Delete Blob; 404 → false. A blob under an active lease answers 412 <c>LeaseIdMissing</c> (StorageException).</remarks>
    public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        return _failure.RunAsync("Delete Blob", blob.Path, async () =>
        {
            var response = await Container(blob).GetBlobBaseClient(blob.Name)
                .DeleteIfExistsAsync(DeleteSnapshotsOption.None, conditions: null, cancellationToken).ConfigureAwait(false);
            return response.Value;
        }, cancellationToken);
    }

    /// <summary>Create Container; an existing container counts as success.</summary>
    internal async Task CreateContainerAsync(BlobPath blob, CancellationToken cancellationToken) =>
        await Container(blob).CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

    internal BlobContainerClient Container(BlobPath blob) => Service.GetBlobContainerClient(blob.Container);

    private BlobBaseClient Blob(BlobPath blob) => Container(blob).GetBlobBaseClient(blob.Name);

    private AppendBlobClient AppendBlob(BlobPath blob) => Container(blob).GetAppendBlobClient(blob.Name);

    // Create the append blob if missing (If-None-Match: *; losing that race to another creator is fine).
    private Task EnsureAppendBlobAsync(BlobPath blob, CancellationToken cancellationToken) =>
        WithContainerAsync(blob, () => AppendBlob(blob).CreateIfNotExistsAsync(new AppendBlobCreateOptions(), cancellationToken), cancellationToken);

    // Runs a write; a missing container is created and the write retried once.
    private async Task WithContainerAsync<T>(BlobPath blob, Func<Task<T>> write, CancellationToken cancellationToken)
    {
        try
        {
            await write().ConfigureAwait(false);
        }
        catch (RequestFailedException ex) when (ex.ErrorCode == "ContainerNotFound")
        {
            await CreateContainerAsync(blob, cancellationToken).ConfigureAwait(false);
            await write().ConfigureAwait(false);
        }
    }

    private async Task<List<string>> ListBlobNamesAsync(string container, string namePrefix, CancellationToken cancellationToken) =>
        await _failure.RunAsync("List Blobs", $"{container}/{namePrefix}", async () =>
        {
            var names = new List<string>();
            try
            {
                var options = new GetBlobsOptions { Prefix = namePrefix.Length > 0 ? namePrefix : null };
                await foreach (var page in Service.GetBlobContainerClient(container).GetBlobsAsync(options, cancellationToken)
                                   .AsPages(pageSizeHint: ListPageSize).ConfigureAwait(false))
                    names.AddRange(page.Values.Select(b => b.Name));
            }
            catch (RequestFailedException ex) when (ex.Status == 404)
            {
                // Missing container: nothing to list.
            }
            return names;
        }, cancellationToken).ConfigureAwait(false);

    private static bool IsConflict(RequestFailedException ex, WriteCondition condition) => condition.Kind switch
    {
        WriteConditionKind.IfNotExists => ex.Status == 409 && ex.ErrorCode == "BlobAlreadyExists" || ex.Status == 412 && ex.ErrorCode is "ConditionNotMet" or null,
        WriteConditionKind.IfMatch => ex.Status == 412 && ex.ErrorCode is "ConditionNotMet" or null || ex.Status == 404 && ex.ErrorCode is "BlobNotFound" or "ContainerNotFound",
        _ => false,
    };

    /// <summary>A read-only, seekable stream over a <see cref="ReadOnlyMemory{T}"/> without copying (the SDK rewinds it to retry).</summary>
    private sealed class ReadOnlyMemoryStream(ReadOnlyMemory<byte> memory) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => true;
        public override bool CanWrite => false;
        public override long Length => memory.Length;

        public override long Position
        {
            get => _position;
            set => _position = value is >= 0 and <= int.MaxValue ? (int)Math.Min(value, memory.Length) : throw new ArgumentOutOfRangeException(nameof(value));
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = Math.Min(buffer.Length, memory.Length - _position);
            memory.Span.Slice(_position, n).CopyTo(buffer);
            _position += n;
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Task.FromResult(Read(buffer.AsSpan(offset, count)));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Read(buffer.Span));

        public override long Seek(long offset, SeekOrigin origin)
        {
            Position = origin switch
            {
                SeekOrigin.Begin => offset,
                SeekOrigin.Current => _position + offset,
                _ => memory.Length + offset,
            };
            return _position;
        }

        public override void Flush() { }
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}

/// <summary>A validated <c>{container}/{name}</c> path and its URL-escaped form.</summary>
internal readonly record struct BlobPath(string Path, string Container, string Name, string EscapedPath)
{
    /// <summary>
    /// Splits and validates <paramref name="path"/>: container 3–63 characters of lowercase letters, digits and single
    /// hyphens, starting and ending with a letter or digit (learn "Naming and referencing containers, blobs"); name 1–1024
    /// characters, not ending with '.' or '/', without empty, '.' or '..' segments. Throws <see cref="ArgumentException"/>.
    /// </summary>
    public static BlobPath Parse(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var slash = path.IndexOf('/');
        if (slash <= 0 || slash == path.Length - 1)
            throw new ArgumentException($"Blob path '{path}' must be '{{container}}/{{name}}'.", nameof(path));
        var container = path[..slash];
        var name = path[(slash + 1)..];
        ValidateContainer(container, path);
        // "." and ".." segments would be collapsed by URI normalization and address a different blob.
        if (name.Length > 1024 || name.EndsWith('/') || name.EndsWith('.') || name.Contains("//", StringComparison.Ordinal)
            || name.Split('/').Any(segment => segment is "." or ".."))
            throw new ArgumentException(
                $"Blob name in '{path}' must be 1–1024 characters without empty, '.' or '..' segments, not ending in '.' or '/'.", nameof(path));
        var escaped = Uri.EscapeDataString(container) + "/" + string.Join('/', name.Split('/').Select(Uri.EscapeDataString));
        return new BlobPath(path, container, name, escaped);
    }

    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="container"/> is a valid Azure container name.</summary>
    public static void ValidateContainer(string container, string forPath)
    {
        var ok = container.Length is >= 3 and <= 63
            && char.IsAsciiLetterOrDigit(container[0]) && char.IsAsciiLetterOrDigit(container[^1])
            && !container.Contains("--", StringComparison.Ordinal)
            && container.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-');
        if (!ok)
            throw new ArgumentException(
                $"Container '{container}' in '{forPath}' must be 3–63 lowercase letters, digits or single hyphens, starting and ending with a letter or digit.",
                "path");
    }
}
