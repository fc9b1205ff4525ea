using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.Storage.FileSystem;

/// <summary>
/// The embedded <see cref="IDistributedLock"/>: a lease like an Azure blob lease (learn.microsoft.com "Lease Blob":
/// 15–60 s, renewable, takeable once expired), recorded in the file <c>{root}/locks/{escaped name}.lease</c>
/// (JSON: lease id, expiry, holder). Reading and changing a lease file happens under an OS lock file
/// (<c>{root}/locks/.guard-{00..0f}.lock</c>, striped by name) plus an in-process gate, so acquire, renew and release
/// are atomic across threads and processes; lease files are replaced atomically (temporary file + rename).
/// Expiry is judged by the injected <see cref="TimeProvider"/>; processes sharing a root must share a clock.
/// A process that dies simply stops renewing: its lease can be taken over once it expires.
/// </summary>
public sealed class FileDistributedLock : IDistributedLock
{
    /// <summary>Shortest lease (Azure: 15 s).</summary>
    public static readonly TimeSpan MinDuration = TimeSpan.FromSeconds(15);

    /// <summary>Longest lease (Azure: 60 s; infinite leases are not offered).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(60);

    /// <summary>Longest lock name accepted, in characters (Azure blob names: 1,024).</summary>
    public const int MaxNameLength = 1024;

    private const int GuardStripes = 16;

    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim[] _gates;

    /// <summary>Creates a lock provider keeping leases under <c>{rootDirectory}/locks/</c> (created on demand).</summary>
    /// <param name="rootDirectory">Storage root; relative paths resolve against the current directory.</param>
    /// <param name="timeProvider">Clock that decides when a lease has expired.</param>
    /// <exception cref="ArgumentException"><paramref name="rootDirectory"/> is null, empty or whitespace.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="timeProvider"/> is null.</exception>
    public FileDistributedLock(string rootDirectory, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _directory = Path.Combine(Path.GetFullPath(rootDirectory), "locks");
        _time = timeProvider;
        _gates = Enumerable.Range(0, GuardStripes).Select(_ => new SemaphoreSlim(1, 1)).ToArray();
    }

    /// <summary>How long an operation waits for the guard lock file before failing with 503 <c>LockTimeout</c> (default 30 s).</summary>
    internal TimeSpan GuardTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    /// <remarks>Not re-entrant: a second acquire of a live lease returns null even from the same holder.</remarks>
    /// <exception cref="ArgumentException"><paramref name="name"/> is null, empty, whitespace or longer than 1,024 characters.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="duration"/> is outside 15–60 s.</exception>
    /// <exception cref="StorageException">I/O failure (500 <c>IOError</c>, transient) or guard timeout (503 <c>LockTimeout</c>).</exception>
    public async Task<ILockHandle?> TryAcquireAsync(string name, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (name.Length > MaxNameLength)
            throw new ArgumentException($"lock name is longer than {MaxNameLength} characters", nameof(name));
        if (duration < MinDuration || duration > MaxDuration)
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "lease duration must be 15 to 60 seconds (Azure blob lease rule)");

        var leaseFile = LeaseFileFor(name);
        using var guard = await GuardAsync(name, cancellationToken).ConfigureAwait(false);
        try
        {
            var current = await ReadLeaseAsync(leaseFile, cancellationToken).ConfigureAwait(false);
            var now = _time.GetUtcNow();
            if (current is not null && current.ExpiresAt > now)
                return null;

            var lease = new LeaseRecord(Guid.NewGuid().ToString("D"), name, now + duration, $"{Environment.MachineName}:{Environment.ProcessId}");
            await WriteLeaseAsync(leaseFile, lease, cancellationToken).ConfigureAwait(false);
            return new Handle(this, name, leaseFile, lease.LeaseId, duration);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IoFailure(name, "acquire", ex);
        }
    }

    /// <summary>
    /// The lease file for <paramref name="name"/>: characters outside <c>[a-z0-9-]</c> are escaped as <c>_xx</c>
    /// (UTF-8 bytes in hex), which keeps names injective and safe on case-insensitive file systems; names whose
    /// escaped form exceeds 200 characters use <c>~</c> + SHA-256 hex instead.
    /// </summary>
    internal string LeaseFileFor(string name)
    {
        var escaped = new StringBuilder(name.Length);
        foreach (var b in Encoding.UTF8.GetBytes(name))
        {
            if (b is >= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9' or (byte)'-')
                escaped.Append((char)b);
            else
                escaped.Append('_').Append(b.ToString("x2"));
        }
        var fileName = escaped.Length <= 200 ? escaped.ToString() : "~" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)));
        return Path.Combine(_directory, fileName + ".lease");
    }

    /// <summary>The guard lock file serialising operations on <paramref name="name"/> (exposed for cross-process tests).</summary>
    internal string GuardFileFor(string name) => Path.Combine(_directory, $".guard-{Stripe(name):x2}.lock");

    private Task<FileLock> GuardAsync(string name, CancellationToken cancellationToken) =>
        FileLock.AcquireAsync(GuardFileFor(name), _gates[Stripe(name)], GuardTimeout, createDirectory: true, cancellationToken);

    private static int Stripe(string name)
    {
        uint h = 2166136261;
        foreach (var c in name)
            h = (h ^ c) * 16777619;
        return (int)(h % GuardStripes);
    }

    private static async Task<LeaseRecord?> ReadLeaseAsync(string leaseFile, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(leaseFile, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
        try
        {
            return JsonSerializer.Deserialize<LeaseRecord>(bytes);
        }
        catch (JsonException)
        {
            return null; // unreadable (disk damage; writes are atomic): treat as free rather than locked forever
        }
    }

    private static Task WriteLeaseAsync(string leaseFile, LeaseRecord lease, CancellationToken cancellationToken) =>
        AtomicFile.WriteAsync(leaseFile, JsonSerializer.SerializeToUtf8Bytes(lease), cancellationToken);

    private static StorageException IoFailure(string name, string operation, Exception ex) => ex is UnauthorizedAccessException
        ? new StorageException($"access denied during lease {operation} of lock '{name}'", 403, "AccessDenied", isTransient: false, ex)
        : new StorageException($"I/O error during lease {operation} of lock '{name}': {ex.Message}", 500, "IOError", isTransient: true, ex);

    /// <summary>On-disk lease.</summary>
    private sealed record LeaseRecord(string LeaseId, string Name, DateTimeOffset ExpiresAt, string Holder);

    private sealed class Handle(FileDistributedLock owner, string name, string leaseFile, string leaseId, TimeSpan duration) : ILockHandle
    {
        private int _disposed;

        /// <summary>
        /// Sets the expiry to now + the original duration. Allowed while this lease is still the recorded one, even if it
        /// has expired meanwhile (as Azure allows renewing an expired lease nobody else took). Throws
        /// <see cref="StorageException"/> 409 <c>LeaseIdMismatchWithLeaseOperation</c> when another holder took the lock,
        /// 409 <c>LeaseNotPresentWithLeaseOperation</c> when no lease is recorded, and <see cref="ObjectDisposedException"/> after release.
        /// </summary>
        public async Task RenewAsync(CancellationToken cancellationToken = default)
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            using var guard = await owner.GuardAsync(name, cancellationToken).ConfigureAwait(false);
            try
            {
                var current = await ReadLeaseAsync(leaseFile, cancellationToken).ConfigureAwait(false);
                if (current is null)
                    throw new StorageException($"lock '{name}' has no lease to renew; it was lost", 409, "LeaseNotPresentWithLeaseOperation", isTransient: false);
                if (current.LeaseId != leaseId)
                    throw new StorageException($"lock '{name}' was taken over by another holder ({current.Holder})", 409, "LeaseIdMismatchWithLeaseOperation", isTransient: false);
                await WriteLeaseAsync(leaseFile, current with { ExpiresAt = owner._time.GetUtcNow() + duration }, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw IoFailure(name, "renew", ex);
            }
        }

        /// <summary>
        /// Releases the lease if it is still ours (deletes the lease file); does nothing when it was lost or already
        /// released. Throws <see cref="StorageException"/> only for I/O failures (the lease then expires on its own).
        /// </summary>
        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
                return;
            using var guard = await owner.GuardAsync(name, CancellationToken.None).ConfigureAwait(false);
            try
            {
                var current = await ReadLeaseAsync(leaseFile, CancellationToken.None).ConfigureAwait(false);
                if (current?.LeaseId == leaseId)
                    File.Delete(leaseFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw IoFailure(name, "release", ex);
            }
        }
    }
}
