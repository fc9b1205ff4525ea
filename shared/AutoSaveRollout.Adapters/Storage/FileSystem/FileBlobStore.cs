using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.Storage.FileSystem;

/// <summary>
/// The embedded <see cref="IBlobStore"/>: blob <c>{container}/{name}</c> is the file <c>{root}/{container}/{name}</c>
/// ('/' in the name becomes directories), so batches can be inspected with ordinary tools.
/// <list type="bullet">
/// <item>Whole-blob writes are atomic (temporary file in the same directory, flushed, then renamed over the target):
/// a reader sees the old or the new content, never a mix.</item>
/// <item>Every mutation, and the moment a reader opens a blob, runs under an exclusive lock (in-process gate +
/// OS lock file under <c>{root}/.locks/blobs/</c>, one of 64 stripes chosen by path hash), so conditional writes
/// are atomic against other threads and other processes sharing the root, and a reader never sees half an append.</item>
/// <item>ETags are <c>"{32 hex}"</c>: the first 128 bits of the SHA-256 of the content. They change whenever the
/// content changes (appends included); unlike Azure, rewriting identical bytes yields the same ETag, which is still
/// safe for optimistic concurrency because a matching ETag means the content the caller read is the current content.</item>
/// </list>
/// Deviations from Azure: a blob name cannot also be a "directory" of another blob (<c>c/a</c> and <c>c/a/b</c> cannot
/// coexist; the second write throws <see cref="StorageException"/> 409 <c>BlobPathConflict</c>); append blobs have no
/// 50,000-block limit; block and append blobs are not distinguished. Empty directories left by deletes are kept.
/// Failures: invalid paths → <see cref="ArgumentException"/>; failed write conditions →
/// <see cref="ConcurrencyConflictException"/>; I/O errors → <see cref="StorageException"/> (status 500, code
/// <c>IOError</c>, transient); permission errors → <see cref="StorageException"/> (403 <c>AccessDenied</c>, not transient).
/// </summary>
public sealed class FileBlobStore : IBlobStore
{
    private const int LockStripes = 64;

    /// <summary>Longest blob name accepted (characters), as in Azure.</summary>
    public const int MaxNameLength = 1024;

    /// <summary>Longest single name segment accepted, in UTF-8 bytes (file-name limit 255 minus room for temporary-file suffixes).</summary>
    public const int MaxSegmentBytes = 200;

    private readonly string _root;
    private readonly string _lockDirectory;
    private readonly SemaphoreSlim[] _gates;

    /// <summary>Creates a store rooted at <paramref name="rootDirectory"/> (created on first write; relative paths resolve against the current directory).</summary>
    /// <exception cref="ArgumentException"><paramref name="rootDirectory"/> is null, empty or whitespace.</exception>
    public FileBlobStore(string rootDirectory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        _root = Path.GetFullPath(rootDirectory);
        _lockDirectory = Path.Combine(_root, ".locks", "blobs");
        _gates = Enumerable.Range(0, LockStripes).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    }

    /// <summary>The absolute root directory.</summary>
    public string RootDirectory => _root;

    /// <summary>How long an operation waits for a blob's lock before failing with 503 <c>LockTimeout</c> (default 30 s).</summary>
    internal TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    public async Task<BlobContent?> TryGetAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = Resolve(path);
        var snapshot = await OpenSnapshotAsync(blob, cancellationToken).ConfigureAwait(false);
        if (snapshot is null)
            return null;
        await using (snapshot.ConfigureAwait(false))
        {
            try
            {
                var content = new byte[snapshot.Length];
                await snapshot.ReadExactlyAsync(content, cancellationToken).ConfigureAwait(false);
                return new BlobContent(content, ComputeETag(content));
            }
            catch (Exception ex) when (IsIoFailure(ex))
            {
                throw IoFailure(blob.Path, "read", ex);
            }
        }
    }

    /// <inheritdoc />
    /// <remarks>The stream is a read-only, seekable snapshot of the blob as it was when opened; later appends are not visible through it.</remarks>
    public async Task<Stream?> TryOpenReadAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = Resolve(path);
        return await OpenSnapshotAsync(blob, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    /// <remarks>
    /// <see cref="WriteCondition.IfNotExists"/> on an existing blob → 409 <c>BlobAlreadyExists</c>;
    /// <see cref="WriteCondition.IfMatch"/> with another ETag, or on a missing blob → 412 <c>ConditionNotMet</c>
    /// (Azure semantics). <c>IfMatch("*")</c> matches any existing blob.
    /// </remarks>
    public async Task<string> PutAsync(string path, ReadOnlyMemory<byte> content, WriteCondition condition, CancellationToken cancellationToken = default)
    {
        var blob = Resolve(path);
        using var held = await LockAsync(blob, cancellationToken).ConfigureAwait(false);
        try
        {
            switch (condition.Kind)
            {
                case WriteConditionKind.IfNotExists when File.Exists(blob.FilePath):
                    throw new ConcurrencyConflictException(blob.Path, 409, "BlobAlreadyExists");
                case WriteConditionKind.IfMatch:
                    var current = await ReadCurrentETagAsync(blob, cancellationToken).ConfigureAwait(false);
                    var matches = current is not null && (condition.ETag == "*" || string.Equals(current, condition.ETag, StringComparison.Ordinal));
                    if (!matches)
                        throw new ConcurrencyConflictException(blob.Path, 412, "ConditionNotMet");
                    break;
            }

            EnsureWritable(blob);
            await AtomicFile.WriteAsync(blob.FilePath, content, cancellationToken).ConfigureAwait(false);
            return ComputeETag(content.Span);
        }
        catch (Exception ex) when (IsIoFailure(ex))
        {
            throw IoFailure(blob.Path, "write", ex);
        }
    }

    /// <inheritdoc />
    public async Task CreateAppendBlobAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = Resolve(path);
        using var held = await LockAsync(blob, cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureWritable(blob);
            await AtomicFile.WriteAsync(blob.FilePath, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (IsIoFailure(ex))
        {
            throw IoFailure(blob.Path, "create", ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// The block is written in place at the end of the file under the blob's lock and flushed to disk; if the write
    /// fails the file is cut back to its previous length, so a block is either wholly appended or not at all.
    /// A missing blob is created (atomically) with the block as its content. An empty block only creates a missing blob.
    /// </remarks>
    public async Task AppendAsync(string path, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default)
    {
        var blob = Resolve(path);
        using var held = await LockAsync(blob, cancellationToken).ConfigureAwait(false);
        try
        {
            EnsureWritable(blob);
            if (!File.Exists(blob.FilePath))
            {
                await AtomicFile.WriteAsync(blob.FilePath, block, cancellationToken).ConfigureAwait(false);
                return;
            }
            if (block.IsEmpty)
                return;

            await using var stream = new FileStream(blob.FilePath, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0);
            var originalLength = stream.Seek(0, SeekOrigin.End);
            try
            {
                // Not cancellable once started: a half-written block would have to be rolled back anyway.
                await stream.WriteAsync(block, CancellationToken.None).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            catch
            {
                try { stream.SetLength(originalLength); } catch (IOException) { }
                throw;
            }
        }
        catch (Exception ex) when (IsIoFailure(ex))
        {
            throw IoFailure(blob.Path, "append", ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>
    /// <paramref name="prefix"/> is <c>{container}</c> (all blobs), or <c>{container}/{name prefix}</c> where the name
    /// prefix may end mid-segment (<c>c/2026/11/2</c> matches <c>c/2026/11/20/…</c>). A container that does not exist
    /// lists nothing. The listing is a snapshot taken when enumeration starts; temporary and lock files never appear.
    /// Throws <see cref="ArgumentException"/> for an invalid container or a prefix containing empty, <c>.</c> or <c>..</c> segments.
    /// </remarks>
    public async IAsyncEnumerable<string> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var slash = prefix.IndexOf('/');
        var container = slash < 0 ? prefix : prefix[..slash];
        var namePrefix = slash < 0 ? "" : prefix[(slash + 1)..];
        ValidateContainer(container, prefix, nameof(prefix));
        if (namePrefix.Contains('\\') || namePrefix.Contains('\0'))
            throw new ArgumentException($"blob prefix '{prefix}' must not contain '\\' or NUL", nameof(prefix));

        // Directory fully named by the prefix: everything before its last '/'.
        var lastSlash = namePrefix.LastIndexOf('/');
        var directoryPart = lastSlash < 0 ? "" : namePrefix[..lastSlash];
        if (lastSlash >= 0)
        {
            foreach (var segment in directoryPart.Split('/'))
            {
                if (segment.Length == 0 || segment is "." or "..")
                    throw new ArgumentException($"blob prefix '{prefix}' has an empty, '.' or '..' segment", nameof(prefix));
            }
        }

        var containerDirectory = Path.Combine(_root, container);
        var startDirectory = directoryPart.Length == 0 ? containerDirectory : Path.Combine(containerDirectory, directoryPart.Replace('/', Path.DirectorySeparatorChar));

        await Task.Yield(); // do the directory walk off the caller's synchronous path
        var names = new List<string>();
        try
        {
            if (Directory.Exists(startDirectory))
            {
                var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0, IgnoreInaccessible = true, ReturnSpecialDirectories = false };
                foreach (var file in Directory.EnumerateFiles(startDirectory, "*", options))
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (AtomicFile.IsTemporaryFileName(Path.GetFileName(file)))
                        continue;
                    var relative = Path.GetRelativePath(containerDirectory, file);
                    if (Path.DirectorySeparatorChar != '/')
                        relative = relative.Replace(Path.DirectorySeparatorChar, '/');
                    if (relative.StartsWith(namePrefix, StringComparison.Ordinal))
                        names.Add(container + "/" + relative);
                }
            }
        }
        catch (Exception ex) when (IsIoFailure(ex))
        {
            throw IoFailure(prefix, "list", ex);
        }

        names.Sort(StringComparer.Ordinal);
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return name;
        }
    }

    /// <inheritdoc />
    public async Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        var blob = Resolve(path);
        using var held = await LockAsync(blob, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(blob.FilePath))
                return false;
            File.Delete(blob.FilePath);
            return true;
        }
        catch (Exception ex) when (IsIoFailure(ex))
        {
            throw IoFailure(blob.Path, "delete", ex);
        }
    }

    /// <summary>The ETag this store reports for <paramref name="content"/>: <c>"</c> + 32 lowercase hex digits + <c>"</c>.</summary>
    internal static string ComputeETag(ReadOnlySpan<byte> content)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(content, hash);
        return "\"" + Convert.ToHexStringLower(hash[..16]) + "\"";
    }

    /// <summary>The lock file guarding <paramref name="blobPath"/> (exposed for cross-process tests).</summary>
    internal string LockFileFor(string blobPath) => Path.Combine(_lockDirectory, $"{Stripe(blobPath):x2}.lock");

    private async Task<SnapshotReadStream?> OpenSnapshotAsync(BlobLocation blob, CancellationToken cancellationToken)
    {
        using var held = await LockAsync(blob, cancellationToken).ConfigureAwait(false);
        try
        {
            if (!File.Exists(blob.FilePath))
                return null;
            var stream = new FileStream(blob.FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous);
            return new SnapshotReadStream(stream, stream.Length);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (Exception ex) when (IsIoFailure(ex))
        {
            throw IoFailure(blob.Path, "open", ex);
        }
    }

    private static async Task<string?> ReadCurrentETagAsync(BlobLocation blob, CancellationToken cancellationToken)
    {
        if (!File.Exists(blob.FilePath))
            return null;
        await using var stream = new FileStream(blob.FilePath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 0, FileOptions.Asynchronous);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
            hash.AppendData(buffer, 0, read);
        return "\"" + Convert.ToHexStringLower(hash.GetHashAndReset().AsSpan(0, 16)) + "\"";
    }

    /// <summary>Creates the blob's directory; throws 409 <c>BlobPathConflict</c> when a file or directory is in the way.</summary>
    private void EnsureWritable(BlobLocation blob)
    {
        if (Directory.Exists(blob.FilePath))
            throw Conflict(blob.Path, $"a blob name below '{blob.Path}/' exists");
        var directory = Path.GetDirectoryName(blob.FilePath)!;
        if (Directory.Exists(directory))
            return;
        try
        {
            Directory.CreateDirectory(directory);
        }
        catch (IOException)
        {
            // A file where a directory is needed: an existing blob is a prefix of this one.
            for (var d = directory; d.Length > _root.Length; d = Path.GetDirectoryName(d)!)
            {
                if (File.Exists(d))
                    throw Conflict(blob.Path, $"blob '{Path.GetRelativePath(_root, d).Replace(Path.DirectorySeparatorChar, '/')}' exists");
            }
            throw;
        }
    }

    private static StorageException Conflict(string path, string reason) =>
        new($"cannot write '{path}': {reason}; the file-system store cannot hold a blob and names below it", 409, "BlobPathConflict", isTransient: false);

    private Task<FileLock> LockAsync(BlobLocation blob, CancellationToken cancellationToken)
    {
        var stripe = Stripe(blob.Path);
        return FileLock.AcquireAsync(Path.Combine(_lockDirectory, $"{stripe:x2}.lock"), _gates[stripe], LockTimeout, createDirectory: true, cancellationToken);
    }

    private static int Stripe(string blobPath)
    {
        // Stable across processes (string.GetHashCode is randomised per process).
        uint h = 2166136261;
        foreach (var c in blobPath)
            h = (h ^ c) * 16777619;
        return (int)(h % LockStripes);
    }

    private BlobLocation Resolve(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Length == 0)
            throw new ArgumentException("blob path is empty", nameof(path));
        if (path[0] == '/')
            throw new ArgumentException($"blob path '{path}' must not start with '/'", nameof(path));
        if (path.Contains('\\'))
            throw new ArgumentException($"blob path '{path}' must use '/' separators, not '\\'", nameof(path));
        if (path.Contains('\0'))
            throw new ArgumentException("blob path contains NUL", nameof(path));

        var slash = path.IndexOf('/');
        if (slash < 0 || slash == path.Length - 1)
            throw new ArgumentException($"blob path '{path}' must be 'container/name'", nameof(path));
        var container = path[..slash];
        var name = path[(slash + 1)..];
        ValidateContainer(container, path, nameof(path));
        if (name.Length > MaxNameLength)
            throw new ArgumentException($"blob name is longer than {MaxNameLength} characters", nameof(path));

        foreach (var segment in name.Split('/'))
        {
            if (segment.Length == 0 || segment is "." or "..")
                throw new ArgumentException($"blob path '{path}' has an empty, '.' or '..' segment", nameof(path));
            if (Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes)
                throw new ArgumentException($"a segment of blob path '{path}' is longer than {MaxSegmentBytes} UTF-8 bytes", nameof(path));
            if (AtomicFile.IsTemporaryFileName(segment))
                throw new ArgumentException($"blob path '{path}' uses the reserved temporary-file suffix '.~<hex>.tmp'", nameof(path));
        }

        var filePath = Path.Combine(_root, container, name.Replace('/', Path.DirectorySeparatorChar));
        return new BlobLocation(path, filePath);
    }

    private static void ValidateContainer(string container, string path, string paramName)
    {
        if (!StorageNames.IsValidContainerOrQueueName(container))
            throw new ArgumentException(
                $"'{container}' in '{path}' is not a valid container name: 3-63 characters, lowercase letters, digits and single '-' between them",
                paramName);
    }

    private static bool IsIoFailure(Exception ex) => ex is IOException or UnauthorizedAccessException;

    private static StorageException IoFailure(string path, string operation, Exception ex) => ex is UnauthorizedAccessException
        ? new StorageException($"access denied during {operation} of '{path}'", 403, "AccessDenied", isTransient: false, ex)
        : new StorageException($"I/O error during {operation} of '{path}': {ex.Message}", 500, "IOError", isTransient: true, ex);

    private readonly record struct BlobLocation(string Path, string FilePath);
}
