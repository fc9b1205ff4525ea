using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.Storage.FileSystem;

/// <summary>
/// An embedded queue with Azure Queue storage semantics (learn.microsoft.com "Put Message", "Get Messages",
/// "Delete Message", "Update Message"), stored as one JSON file per message in <c>{root}/queues/{name}/</c>:
/// <c>{sequence:D19}_{id}.msg</c>, where the sequence number records insertion order.
/// <list type="bullet">
/// <item>Delivery is FIFO by insertion order among visible messages, stable even for messages sent in the same clock tick.</item>
/// <item>A received message is hidden until <c>now + visibilityTimeout</c> (clock: the injected <see cref="TimeProvider"/>),
/// its <see cref="QueueMessage.DequeueCount"/> grows by one per receive, and each receive or visibility update issues a
/// fresh pop receipt that invalidates the previous one.</item>
/// <item>Every operation runs under the queue's lock (<c>.lock</c> in the queue directory; in-process gate + OS lock file),
/// so it is safe across threads and processes; every change rewrites or creates a message file atomically
/// (temporary file + rename), so a crash leaves each message in its old or its new state.</item>
/// </list>
/// Errors: a missing queue → <see cref="StorageException"/> 404 <c>QueueNotFound</c>; unknown message id → 404
/// <c>MessageNotFound</c>; stale pop receipt → 400 <c>PopReceiptMismatch</c>; I/O → 500 <c>IOError</c> (transient).
/// Messages do not expire (Azure's default time-to-live is 7 days).
/// </summary>
public sealed class FileMessageQueue : IMessageQueue
{
    /// <summary>Largest message text, in UTF-8 bytes (Azure: 64 KiB).</summary>
    public const int MaxMessageBytes = 65_536;

    /// <summary>Longest visibility timeout or initial delay (Azure: 7 days = 604,800 s).</summary>
    public static readonly TimeSpan MaxVisibilityTimeout = TimeSpan.FromSeconds(604_800);

    /// <summary>Shortest visibility timeout for <see cref="ReceiveAsync"/> (Azure: 1 s).</summary>
    public static readonly TimeSpan MinReceiveVisibilityTimeout = TimeSpan.FromSeconds(1);

    private const string MessageExtension = ".msg";
    private const string LockFileName = ".lock";

    private static readonly JsonSerializerOptions Json = new() { DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    private readonly string _directory;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _gate;
    private readonly TimeSpan _lockTimeout;

    internal FileMessageQueue(string name, string directory, TimeProvider time, SemaphoreSlim gate, TimeSpan lockTimeout)
    {
        Name = name;
        _directory = directory;
        _time = time;
        _gate = gate;
        _lockTimeout = lockTimeout;
    }

    /// <inheritdoc />
    public string Name { get; }

    /// <summary>The directory holding this queue's message files (<c>{root}/queues/{name}</c>).</summary>
    public string DirectoryPath => _directory;

    /// <inheritdoc />
    /// <exception cref="StorageException">The directory cannot be created (I/O: 500 <c>IOError</c>, transient; permissions: 403).</exception>
    public Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            Directory.CreateDirectory(_directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IoFailure("create", ex);
        }
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="text"/> is longer than 65,536 UTF-8 bytes.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="initialVisibilityDelay"/> is negative or longer than 7 days.</exception>
    /// <exception cref="StorageException">404 <c>QueueNotFound</c> when the queue was not created; I/O failures.</exception>
    public async Task<string> SendAsync(string text, TimeSpan? initialVisibilityDelay = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var bytes = Encoding.UTF8.GetByteCount(text);
        if (bytes > MaxMessageBytes)
            throw new ArgumentException($"message text is {bytes} UTF-8 bytes; the limit is {MaxMessageBytes} (send larger payloads by blob reference)", nameof(text));
        var delay = initialVisibilityDelay ?? TimeSpan.Zero;
        if (delay < TimeSpan.Zero || delay > MaxVisibilityTimeout)
            throw new ArgumentOutOfRangeException(nameof(initialVisibilityDelay), delay, "must be between 0 and 7 days");

        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            long lastSequence = 0;
            foreach (var file in MessageFiles())
                lastSequence = Math.Max(lastSequence, ParseFileName(file).Sequence);

            var now = _time.GetUtcNow();
            var message = new StoredMessage
            {
                Id = Guid.NewGuid().ToString("D"),
                Sequence = lastSequence + 1,
                InsertedAt = now,
                VisibleAt = now + delay,
                DequeueCount = 0,
                PopReceipt = null,
                Text = text,
            };
            await WriteAsync(message, cancellationToken).ConfigureAwait(false);
            return message.Id;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IoFailure("send", ex);
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxMessages"/> is outside 1–32, or <paramref name="visibilityTimeout"/> is outside 1 s – 7 days.</exception>
    /// <exception cref="StorageException">404 <c>QueueNotFound</c> when the queue was not created; I/O failures.</exception>
    public async Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        if (maxMessages is < 1 or > 32)
            throw new ArgumentOutOfRangeException(nameof(maxMessages), maxMessages, "must be between 1 and 32 (Azure Get Messages numofmessages)");
        if (visibilityTimeout < MinReceiveVisibilityTimeout || visibilityTimeout > MaxVisibilityTimeout)
            throw new ArgumentOutOfRangeException(nameof(visibilityTimeout), visibilityTimeout, "must be between 1 second and 7 days");

        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var now = _time.GetUtcNow();
            var received = new List<QueueMessage>(maxMessages);
            foreach (var file in MessageFiles().Order(StringComparer.Ordinal))
            {
                if (received.Count == maxMessages)
                    break;
                var stored = await TryReadAsync(file, cancellationToken).ConfigureAwait(false);
                if (stored is null || stored.VisibleAt > now)
                    continue;

                stored.DequeueCount++;
                stored.PopReceipt = NewPopReceipt();
                stored.VisibleAt = now + visibilityTimeout;
                await WriteAsync(stored, cancellationToken).ConfigureAwait(false);
                received.Add(stored.ToQueueMessage());
            }
            return received;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IoFailure("receive", ex);
        }
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    /// <exception cref="StorageException">404 <c>MessageNotFound</c> / 400 <c>PopReceiptMismatch</c>; 404 <c>QueueNotFound</c>; I/O failures.</exception>
    public async Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (file, _) = await FindReceivedAsync(message, cancellationToken).ConfigureAwait(false);
            File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IoFailure("delete", ex);
        }
    }

    /// <inheritdoc />
    /// <exception cref="StorageException">I/O failures.</exception>
    public async Task ClearAsync(CancellationToken cancellationToken = default)
    {
        if (!Directory.Exists(_directory)) return;
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            foreach (var file in Directory.EnumerateFiles(_directory, "*" + MessageExtension).ToList()) File.Delete(file);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IoFailure("clear", ex);
        }
    }

    /// <inheritdoc />
    /// <remarks>The message becomes visible at <c>now + visibilityTimeout</c>; its text and dequeue count are unchanged.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="message"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="visibilityTimeout"/> is negative or longer than 7 days.</exception>
    /// <exception cref="StorageException">404 <c>MessageNotFound</c> / 400 <c>PopReceiptMismatch</c>; 404 <c>QueueNotFound</c>; I/O failures.</exception>
    public async Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (visibilityTimeout < TimeSpan.Zero || visibilityTimeout > MaxVisibilityTimeout)
            throw new ArgumentOutOfRangeException(nameof(visibilityTimeout), visibilityTimeout, "must be between 0 and 7 days");

        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (_, stored) = await FindReceivedAsync(message, cancellationToken).ConfigureAwait(false);
            stored.PopReceipt = NewPopReceipt();
            stored.VisibleAt = _time.GetUtcNow() + visibilityTimeout;
            await WriteAsync(stored, cancellationToken).ConfigureAwait(false);
            return stored.ToQueueMessage();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw IoFailure("update", ex);
        }
    }

    private async Task<(string File, StoredMessage Message)> FindReceivedAsync(QueueMessage message, CancellationToken cancellationToken)
    {
        // Ids are GUIDs we issued; anything else cannot name a message (and must not reach a file pattern).
        if (Guid.TryParseExact(message.Id, "D", out _))
        {
            foreach (var file in Directory.EnumerateFiles(_directory, "*_" + message.Id + MessageExtension))
            {
                var stored = await TryReadAsync(file, cancellationToken).ConfigureAwait(false);
                if (stored is null)
                    continue;
                if (!string.Equals(stored.PopReceipt, message.PopReceipt, StringComparison.Ordinal))
                    throw new StorageException($"pop receipt for message {message.Id} in queue '{Name}' is stale", 400, "PopReceiptMismatch", isTransient: false);
                return (file, stored);
            }
        }
        throw new StorageException($"message {message.Id} not found in queue '{Name}'", 404, "MessageNotFound", isTransient: false);
    }

    private IEnumerable<string> MessageFiles() =>
        Directory.EnumerateFiles(_directory, "*" + MessageExtension)
            .Where(f => !AtomicFile.IsTemporaryFileName(f));

    private async Task<StoredMessage?> TryReadAsync(string file, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            bytes = await File.ReadAllBytesAsync(file, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        try
        {
            var stored = JsonSerializer.Deserialize<StoredMessage>(bytes, Json);
            if (stored is not null && stored.Id is not null && stored.Text is not null)
                return stored;
        }
        catch (JsonException)
        {
        }
        // Unreadable (atomic writes make this disk damage, not a crash): set aside so it cannot block the queue.
        File.Move(file, file + ".corrupt", overwrite: true);
        return null;
    }

    private Task WriteAsync(StoredMessage message, CancellationToken cancellationToken)
    {
        var file = Path.Combine(_directory, string.Create(CultureInfo.InvariantCulture, $"{message.Sequence:D19}_{message.Id}{MessageExtension}"));
        return AtomicFile.WriteAsync(file, JsonSerializer.SerializeToUtf8Bytes(message, Json), cancellationToken);
    }

    private static (long Sequence, string Id) ParseFileName(string file)
    {
        var name = Path.GetFileNameWithoutExtension(file);
        var underscore = name.IndexOf('_');
        return underscore > 0 && long.TryParse(name.AsSpan(0, underscore), NumberStyles.None, CultureInfo.InvariantCulture, out var sequence)
            ? (sequence, name[(underscore + 1)..])
            : (0, name);
    }

    private static string NewPopReceipt() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(12));

    private async Task<FileLock> LockAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await FileLock.AcquireAsync(Path.Combine(_directory, LockFileName), _gate, _lockTimeout, createDirectory: false, cancellationToken).ConfigureAwait(false);
        }
        catch (DirectoryNotFoundException)
        {
            throw new StorageException($"queue '{Name}' does not exist", 404, "QueueNotFound", isTransient: false);
        }
    }

    private StorageException IoFailure(string operation, Exception ex) => ex is UnauthorizedAccessException
        ? new StorageException($"access denied during {operation} on queue '{Name}'", 403, "AccessDenied", isTransient: false, ex)
        : new StorageException($"I/O error during {operation} on queue '{Name}': {ex.Message}", 500, "IOError", isTransient: true, ex);

    /// <summary>On-disk form of a message.</summary>
    private sealed class StoredMessage
    {
        public string Id { get; set; } = "";
        public long Sequence { get; set; }
        public DateTimeOffset InsertedAt { get; set; }
        public DateTimeOffset VisibleAt { get; set; }
        public int DequeueCount { get; set; }
        public string? PopReceipt { get; set; }
        public string Text { get; set; } = "";

        public QueueMessage ToQueueMessage() => new(Id, PopReceipt!, Text, DequeueCount, InsertedAt);
    }
}
