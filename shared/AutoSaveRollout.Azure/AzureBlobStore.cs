using System.Net;
using System.Runtime.CompilerServices;
using System.Xml;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Azure;

/// <summary>
/// <see cref="IBlobStore"/> on Azure Blob storage (or Azurite) over the REST API, Shared Key or SAS, <c>x-ms-version</c>
/// 2025-05-05. A path <c>{container}/{name}</c> maps to <c>{BlobEndpoint}/{container}/{escaped name}</c>.
/// Containers are created on demand: a write answered 404 <c>ContainerNotFound</c> creates the container
/// (201, or 409 <c>ContainerAlreadyExists</c> when another writer won) and is retried once.
/// Errors are <see cref="StorageException"/> carrying the HTTP status and <c>x-ms-error-code</c>; 408, 429, 5xx and
/// transport failures are transient (<see cref="StorageErrorClassifier"/>). Messages never contain the account key or SAS.
/// </summary>
public sealed class AzureBlobStore : IBlobStore
{
    /// <summary>
    /// Largest Append Block body this adapter sends: 4 MiB, the limit for versions before 2022-11-02 (learn "Append Block";
    /// 100 MiB since then). Larger <see cref="AppendAsync"/> inputs are split into several blocks.
    /// </summary>
    public const int MaxAppendBlockBytes = 4 * 1024 * 1024;

    private readonly StorageHttpPipeline _pipeline;

    /// <summary>
    /// Creates the store. <paramref name="http"/> is used as is (not disposed; its <see cref="HttpClient.Timeout"/> bounds
    /// each request); <paramref name="timeProvider"/> stamps <c>x-ms-date</c> (default: system clock).
    /// Throws <see cref="ArgumentException"/> when the connection string has no blob endpoint.
    /// </summary>
    public AzureBlobStore(StorageConnectionString connectionString, HttpClient http, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        ArgumentNullException.ThrowIfNull(http);
        var endpoint = connectionString.BlobEndpoint
            ?? throw new ArgumentException("Connection string has no blob endpoint.", nameof(connectionString));
        _pipeline = new StorageHttpPipeline(connectionString, http, timeProvider ?? TimeProvider.System, endpoint, "Blob");
    }

    /// <inheritdoc />
    public async Task<BlobContent?> TryGetAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        using var response = await _pipeline.SendAsync(HttpMethod.Get, _pipeline.BuildUri(blob.EscapedPath), "Get Blob", blob.Path,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.NotFound) return null;
        if (response.StatusCode != HttpStatusCode.OK) throw await _pipeline.ErrorAsync(response, "Get Blob", blob.Path, cancellationToken).ConfigureAwait(false);
        var bytes = await ReadBodyAsync(response, "Get Blob", blob.Path, cancellationToken).ConfigureAwait(false);
        return new BlobContent(bytes, ETagOf(response));
    }

    /// <inheritdoc />
    /// <remarks>
    /// The body is streamed from the response (<see cref="HttpCompletionOption.ResponseHeadersRead"/>); a connection failure
    /// while the caller reads surfaces from the stream as <see cref="IOException"/>, as streams do.
    /// </remarks>
    public async Task<Stream?> TryOpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        var response = await _pipeline.SendAsync(HttpMethod.Get, _pipeline.BuildUri(blob.EscapedPath), "Get Blob", blob.Path,
            completion: HttpCompletionOption.ResponseHeadersRead, cancellationToken: cancellationToken).ConfigureAwait(false);
        try
        {
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                response.Dispose();
                return null;
            }
            if (response.StatusCode != HttpStatusCode.OK)
                throw await _pipeline.ErrorAsync(response, "Get Blob", blob.Path, cancellationToken).ConfigureAwait(false);
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            return new ResponseStream(stream, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// Put Blob with <c>x-ms-blob-type: BlockBlob</c>. <see cref="WriteCondition.IfNotExists"/> sends <c>If-None-Match: *</c>
    /// (an existing blob answers 409 <c>BlobAlreadyExists</c>); <see cref="WriteCondition.IfMatch"/> sends <c>If-Match</c>
    /// (412 <c>ConditionNotMet</c>, or 404 when the blob is gone). All three become <see cref="ConcurrencyConflictException"/>.
    /// </remarks>
    public async Task<string> PutAsync(string path, ReadOnlyMemory<byte> content, WriteCondition condition, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        const string op = "Put Blob";
        for (var attempt = 0; ; attempt++)
        {
            using var response = await _pipeline.SendAsync(HttpMethod.Put, _pipeline.BuildUri(blob.EscapedPath), op, blob.Path,
                request =>
                {
                    request.Headers.TryAddWithoutValidation("x-ms-blob-type", "BlockBlob");
                    AddCondition(request, condition);
                },
                new ReadOnlyMemoryContent(content), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created) return ETagOf(response);
            var code = await StorageHttpPipeline.ReadErrorCodeAsync(response, cancellationToken).ConfigureAwait(false);
            // If-Match cannot succeed in a missing container: report the conflict without creating it.
            if (IsContainerNotFound(response, code) && attempt == 0 && condition.Kind != WriteConditionKind.IfMatch)
            {
                await CreateContainerAsync(blob, cancellationToken).ConfigureAwait(false);
                continue;
            }
            throw WriteError(response, code, condition, op, blob.Path);
        }
    }

    /// <inheritdoc />
    /// <remarks>Put Blob with <c>x-ms-blob-type: AppendBlob</c> and <c>Content-Length: 0</c> (Azurite rejects a body).</remarks>
    public Task CreateAppendBlobAsync(string path, CancellationToken cancellationToken = default) =>
        CreateAppendBlobCoreAsync(BlobPath.Parse(path), WriteCondition.None, cancellationToken);

    /// <inheritdoc />
    /// <remarks>
    /// Append Block (<c>PUT ?comp=appendblock</c>) in pieces of at most <see cref="MaxAppendBlockBytes"/>; a missing blob
    /// (404 <c>BlobNotFound</c>/<c>ContainerNotFound</c>) is created with <c>If-None-Match: *</c> and the append retried once.
    /// A multi-piece append is not atomic: a failure part-way leaves the earlier pieces appended. 409
    /// <c>BlockCountExceedsLimit</c> (50,000 blocks) and 409 <c>InvalidBlobType</c> are permanent <see cref="StorageException"/>s.
    /// An empty <paramref name="block"/> only makes sure the blob exists.
    /// </remarks>
    public async Task AppendAsync(string path, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        if (block.IsEmpty)
        {
            await CreateAppendBlobCoreAsync(blob, WriteCondition.IfNotExists, cancellationToken).ConfigureAwait(false);
            return;
        }
        for (var offset = 0; offset < block.Length; offset += MaxAppendBlockBytes)
        {
            var piece = block.Slice(offset, Math.Min(MaxAppendBlockBytes, block.Length - offset));
            await AppendBlockAsync(blob, piece, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// List Blobs (<c>GET ?restype=container&amp;comp=list&amp;prefix=…&amp;marker=…</c>) following <c>NextMarker</c>. A prefix
    /// without '/' is a prefix of container names: matching containers are listed (List Containers) and their blobs merged
    /// into ordinal path order. A missing container lists nothing.
    /// </remarks>
    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var slash = prefix.IndexOf('/');
        if (slash >= 0)
        {
            var container = prefix[..slash];
            BlobPath.ValidateContainer(container, prefix);
            await foreach (var name in ListBlobNamesAsync(container, prefix[(slash + 1)..], cancellationToken).ConfigureAwait(false))
                yield return $"{container}/{name}";
            yield break;
        }

        // Container-name prefix: ordinal order of "container/name" differs from container-by-container order
        // ("a-b/x" < "a/x"), so collect and sort.
        var all = new List<string>();
        await foreach (var container in ListContainersAsync(prefix, cancellationToken).ConfigureAwait(false))
        {
            await foreach (var name in ListBlobNamesAsync(container, "", cancellationToken).ConfigureAwait(false))
                all.Add($"{container}/{name}");
        }
        all.Sort(StringComparer.Ordinal);
        foreach (var path in all) yield return path;
    }

    /// <inheritdoc />
    /// <remarks>Delete Blob (202); 404 → false. A blob under an active lease answers 412 <c>LeaseIdMissing</c> (StorageException).</remarks>
    public async Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = BlobPath.Parse(path);
        using var response = await _pipeline.SendAsync(HttpMethod.Delete, _pipeline.BuildUri(blob.EscapedPath), "Delete Blob", blob.Path,
            cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.OK) return true;
        if (response.StatusCode == HttpStatusCode.NotFound) return false;
        throw await _pipeline.ErrorAsync(response, "Delete Blob", blob.Path, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Create Container (<c>PUT ?restype=container</c>); 201 or 409 <c>ContainerAlreadyExists</c> both count as success.</summary>
    internal async Task CreateContainerAsync(BlobPath blob, CancellationToken cancellationToken)
    {
        using var response = await _pipeline.SendAsync(HttpMethod.Put, _pipeline.BuildUri(Uri.EscapeDataString(blob.Container), ("restype", "container")),
            "Create Container", blob.Container, content: new ByteArrayContent([]), cancellationToken: cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Created) return;
        var code = await StorageHttpPipeline.ReadErrorCodeAsync(response, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.Conflict && code == "ContainerAlreadyExists") return;
        throw _pipeline.Error((int)response.StatusCode, code, "Create Container", blob.Container, response);
    }

    /// <summary>
    /// <c>maxresults</c> per List Blobs / List Containers page; null lets the service choose (5,000). Tests lower it to
    /// exercise <c>NextMarker</c> continuation.
    /// </summary>
    internal int? ListPageSize { get; set; }

    /// <summary>The pipeline, shared with <see cref="AzureBlobLeaseLock"/>.</summary>
    internal StorageHttpPipeline Pipeline => _pipeline;

    private async Task CreateAppendBlobCoreAsync(BlobPath blob, WriteCondition condition, CancellationToken cancellationToken)
    {
        const string op = "Put Blob (AppendBlob)";
        for (var attempt = 0; ; attempt++)
        {
            using var response = await _pipeline.SendAsync(HttpMethod.Put, _pipeline.BuildUri(blob.EscapedPath), op, blob.Path,
                request =>
                {
                    request.Headers.TryAddWithoutValidation("x-ms-blob-type", "AppendBlob");
                    AddCondition(request, condition);
                },
                new ByteArrayContent([]), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created) return;
            var code = await StorageHttpPipeline.ReadErrorCodeAsync(response, cancellationToken).ConfigureAwait(false);
            if (IsContainerNotFound(response, code) && attempt == 0)
            {
                await CreateContainerAsync(blob, cancellationToken).ConfigureAwait(false);
                continue;
            }
            // Creating "if not exists" for an append that raced with another creator: the blob is there, fine.
            if (condition.Kind == WriteConditionKind.IfNotExists && response.StatusCode == HttpStatusCode.Conflict && code == "BlobAlreadyExists")
                return;
            throw _pipeline.Error((int)response.StatusCode, code, op, blob.Path, response);
        }
    }

    private async Task AppendBlockAsync(BlobPath blob, ReadOnlyMemory<byte> piece, CancellationToken cancellationToken)
    {
        const string op = "Append Block";
        for (var attempt = 0; ; attempt++)
        {
            using var response = await _pipeline.SendAsync(HttpMethod.Put, _pipeline.BuildUri(blob.EscapedPath, ("comp", "appendblock")), op, blob.Path,
                content: new ReadOnlyMemoryContent(piece), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.Created) return;
            var code = await StorageHttpPipeline.ReadErrorCodeAsync(response, cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound && attempt == 0 && code is "BlobNotFound" or "ContainerNotFound" or null)
            {
                await CreateAppendBlobCoreAsync(blob, WriteCondition.IfNotExists, cancellationToken).ConfigureAwait(false);
                continue;
            }
            throw _pipeline.Error((int)response.StatusCode, code, op, blob.Path, response);
        }
    }

    private async IAsyncEnumerable<string> ListBlobNamesAsync(string container, string namePrefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var marker = "";
        var resource = $"{container}/{namePrefix}";
        do
        {
            var query = new List<(string, string)> { ("restype", "container"), ("comp", "list") };
            if (namePrefix.Length > 0) query.Add(("prefix", namePrefix));
            if (marker.Length > 0) query.Add(("marker", marker));
            if (ListPageSize is { } pageSize) query.Add(("maxresults", pageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            using var response = await _pipeline.SendAsync(HttpMethod.Get, _pipeline.BuildUri(Uri.EscapeDataString(container), [.. query]),
                "List Blobs", resource, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.StatusCode == HttpStatusCode.NotFound) yield break;
            if (response.StatusCode != HttpStatusCode.OK) throw await _pipeline.ErrorAsync(response, "List Blobs", resource, cancellationToken).ConfigureAwait(false);
            var (names, next) = await ParseListAsync(response, "Blobs", "Blob", "List Blobs", resource, cancellationToken).ConfigureAwait(false);
            foreach (var name in names) yield return name;
            marker = next;
        }
        while (marker.Length > 0);
    }

    private async IAsyncEnumerable<string> ListContainersAsync(string namePrefix, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var marker = "";
        do
        {
            var query = new List<(string, string)> { ("comp", "list") };
            if (namePrefix.Length > 0) query.Add(("prefix", namePrefix));
            if (marker.Length > 0) query.Add(("marker", marker));
            if (ListPageSize is { } pageSize) query.Add(("maxresults", pageSize.ToString(System.Globalization.CultureInfo.InvariantCulture)));
            using var response = await _pipeline.SendAsync(HttpMethod.Get, _pipeline.BuildUri("", [.. query]),
                "List Containers", namePrefix, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (response.StatusCode != HttpStatusCode.OK) throw await _pipeline.ErrorAsync(response, "List Containers", namePrefix, cancellationToken).ConfigureAwait(false);
            var (names, next) = await ParseListAsync(response, "Containers", "Container", "List Containers", namePrefix, cancellationToken).ConfigureAwait(false);
            foreach (var name in names) yield return name;
            marker = next;
        }
        while (marker.Length > 0);
    }

    // <EnumerationResults …><Blobs><Blob><Name>…</Name>…</Blob></Blobs><NextMarker>…</NextMarker></EnumerationResults>
    // (same shape with Containers/Container for List Containers).
    private async Task<(List<string> Names, string NextMarker)> ParseListAsync(
        HttpResponseMessage response, string listElement, string itemElement, string op, string resource, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var doc = await System.Xml.Linq.XDocument.LoadAsync(stream, System.Xml.Linq.LoadOptions.None, cancellationToken).ConfigureAwait(false);
            var root = doc.Root ?? throw new XmlException("empty document");
            var names = root.Element(listElement)?.Elements(itemElement).Select(e => e.Element("Name")?.Value ?? "").Where(n => n.Length > 0).ToList()
                ?? new List<string>();
            return (names, root.Element("NextMarker")?.Value ?? "");
        }
        catch (XmlException ex)
        {
            throw new StorageException($"Azure Blob {op} '{resource}' returned malformed XML.", (int)response.StatusCode, "MalformedResponse", isTransient: false, ex);
        }
    }

    private static void AddCondition(HttpRequestMessage request, WriteCondition condition)
    {
        switch (condition.Kind)
        {
            case WriteConditionKind.IfNotExists:
                request.Headers.TryAddWithoutValidation("If-None-Match", "*");
                break;
            case WriteConditionKind.IfMatch:
                request.Headers.TryAddWithoutValidation("If-Match", condition.ETag);
                break;
        }
    }

    private StorageException WriteError(HttpResponseMessage response, string? code, WriteCondition condition, string op, string path)
    {
        var status = (int)response.StatusCode;
        var conflict = condition.Kind switch
        {
            WriteConditionKind.IfNotExists => status == 409 && code == "BlobAlreadyExists" || status == 412 && code is "ConditionNotMet" or null,
            WriteConditionKind.IfMatch => status == 412 && code is "ConditionNotMet" or null || status == 404 && code is "BlobNotFound" or "ContainerNotFound",
            _ => false,
        };
        return conflict ? new ConcurrencyConflictException(path, status, code) : _pipeline.Error(status, code, op, path, response);
    }

    private static bool IsContainerNotFound(HttpResponseMessage response, string? code) =>
        response.StatusCode == HttpStatusCode.NotFound && code == "ContainerNotFound";

    private static string ETagOf(HttpResponseMessage response) =>
        response.Headers.TryGetValues("ETag", out var values) ? values.First() : "";

    private async Task<byte[]> ReadBodyAsync(HttpResponseMessage response, string op, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException)
        {
            throw new StorageException($"Azure Blob {op} '{path}' failed while reading the body.", 0, null, isTransient: true, ex);
        }
    }

    /// <summary>Wraps a response body so disposing the stream disposes the response.</summary>
    private sealed class ResponseStream(Stream inner, HttpResponseMessage response) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);
        public override int Read(Span<byte> buffer) => inner.Read(buffer);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            inner.ReadAsync(buffer, offset, count, cancellationToken);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            inner.ReadAsync(buffer, cancellationToken);
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
                response.Dispose();
            }
            base.Dispose(disposing);
        }
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
