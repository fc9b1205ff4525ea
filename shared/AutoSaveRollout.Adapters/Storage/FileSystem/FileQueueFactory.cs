using System.Collections.Concurrent;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.Storage.FileSystem;

/// <summary>
/// Hands out embedded file-system queues (<see cref="FileMessageQueue"/>) stored under <c>{root}/queues/{name}/</c>.
/// Several factories (or processes) may share a root: each queue is guarded by an OS lock file. Visibility timeouts
/// follow the injected <see cref="TimeProvider"/>, so processes sharing a root must share a clock (the system clock
/// in production).
/// </summary>
public sealed class FileQueueFactory : IQueueFactory
{
    private readonly string _queuesDirectory;
    private readonly TimeProvider _timeProvider;
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new(StringComparer.Ordinal);

    /// <summary>Creates a factory for queues under <c>{rootDirectory}/queues/</c>.</summary>
    /// <param name="rootDirectory">Storage root (created on demand; relative paths resolve against the current directory).</param>
    /// <param name="timeProvider">Clock for insertion times and visibility timeouts.</param>
    /// <exception cref="ArgumentException"><paramref name="rootDirectory"/> is null, empty or whitespace.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="timeProvider"/> is null.</exception>
    public FileQueueFactory(string rootDirectory, TimeProvider timeProvider)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rootDirectory);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _queuesDirectory = Path.Combine(Path.GetFullPath(rootDirectory), "queues");
        _timeProvider = timeProvider;
    }

    /// <summary>How long a queue operation waits for the queue's lock before failing with 503 <c>LockTimeout</c> (default 30 s).</summary>
    internal TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="name"/> breaks Azure's queue naming rules (3–63 characters, lowercase letters, digits, single '-' between them).</exception>
    public IMessageQueue GetQueue(string name) => GetFileQueue(name);

    /// <summary>Same as <see cref="GetQueue"/>, typed as the concrete queue.</summary>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a valid queue name.</exception>
    public FileMessageQueue GetFileQueue(string name)
    {
        StorageNames.ValidateQueueName(name, nameof(name));
        var gate = _gates.GetOrAdd(name, _ => new SemaphoreSlim(1, 1));
        return new FileMessageQueue(name, Path.Combine(_queuesDirectory, name), _timeProvider, gate, LockTimeout);
    }
}
