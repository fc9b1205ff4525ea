namespace AutoSaveRollout.Core.Ports;

/// <summary>A blob's bytes and the entity tag (ETag) identifying that version, quotes included as the store sent them.</summary>
/// <param name="Content">The whole blob content.</param>
/// <param name="ETag">Opaque version tag to pass back in <see cref="WriteCondition.IfMatch"/>.</param>
public sealed record BlobContent(byte[] Content, string ETag);

/// <summary>Precondition of a write, as in Azure Blob <c>If-Match</c> / <c>If-None-Match</c>.</summary>
public readonly record struct WriteCondition
{
    private WriteCondition(WriteConditionKind kind, string? etag) { Kind = kind; ETag = etag; }

    /// <summary>Which precondition applies.</summary>
    public WriteConditionKind Kind { get; }

    /// <summary>The ETag for <see cref="WriteConditionKind.IfMatch"/>; otherwise null.</summary>
    public string? ETag { get; }

    /// <summary>Unconditional write (create or overwrite).</summary>
    public static WriteCondition None => new(WriteConditionKind.None, null);

    /// <summary>Write only if the blob does not exist (<c>If-None-Match: *</c>).</summary>
    public static WriteCondition IfNotExists => new(WriteConditionKind.IfNotExists, null);

    /// <summary>Write only if the blob's current ETag equals <paramref name="etag"/> (<c>If-Match</c>).</summary>
    public static WriteCondition IfMatch(string etag) => new(WriteConditionKind.IfMatch, etag ?? throw new ArgumentNullException(nameof(etag)));
}

/// <summary>Kinds of <see cref="WriteCondition"/>.</summary>
public enum WriteConditionKind
{
    /// <summary>No precondition.</summary>
    None,
    /// <summary><c>If-None-Match: *</c>.</summary>
    IfNotExists,
    /// <summary><c>If-Match: &lt;etag&gt;</c>.</summary>
    IfMatch,
}

/// <summary>
/// Blob storage port. A path is <c>{container}/{name}</c>: the first segment is the container (lowercase letters,
/// digits and '-', 3–63 characters, as Azure requires), the rest is the blob name using '/' separators, e.g.
/// <c>autosave/2026/11/20/1015.jsonl</c>. Containers are created on first write.
/// Implementations: the embedded file-system store (default) and Azure Blob storage (Azure SDK).
/// All members throw <see cref="StorageException"/> on backend failure.
/// </summary>
public interface IBlobStore
{
    /// <summary>Reads a whole blob; null when it does not exist.</summary>
    Task<BlobContent?> TryGetAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>Opens a blob for streaming reads; null when it does not exist. The caller disposes the stream.</summary>
    Task<Stream?> TryOpenReadAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Writes a whole (block) blob under <paramref name="condition"/> and returns its new ETag.
    /// Throws <see cref="ConcurrencyConflictException"/> when the condition fails.
    /// </summary>
    Task<string> PutAsync(string path, ReadOnlyMemory<byte> content, WriteCondition condition, CancellationToken cancellationToken = default);

    /// <summary>Creates an empty append blob at <paramref name="path"/>, replacing any existing blob.</summary>
    Task CreateAppendBlobAsync(string path, CancellationToken cancellationToken = default);

    /// <summary>
    /// Appends <paramref name="block"/> to the append blob at <paramref name="path"/>, creating it first when missing.
    /// The implementation splits blocks larger than its backend's limit (Azure: 4 MiB per Append Block for older
    /// versions, 100 MiB since 2022-11-02) and fails with <see cref="StorageException"/> (<c>BlockCountExceedsLimit</c>)
    /// past 50,000 blocks.
    /// </summary>
    Task AppendAsync(string path, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default);

    /// <summary>Lists blob paths (<c>container/name</c>) that start with <paramref name="prefix"/> (which includes the container), in ordinal order.</summary>
    IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken = default);

    /// <summary>Deletes a blob; false when it did not exist.</summary>
    Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default);
}
