using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Core.Ports;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// Queue-trigger settings, the same as host.json <c>extensions.queues</c> (Azure WebJobs Storage Queues extension,
/// <c>QueuesOptions</c>): batchSize 16 (1–32), maxDequeueCount 5, visibilityTimeout 0 (delay before a failed message is
/// retried), maxPollingInterval 1 min.
/// </summary>
public sealed record QueueProcessingOptions
{
    /// <summary>Messages fetched per poll, 1–32.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>Deliveries before a failing message moves to <c>&lt;queue&gt;-poison</c>, ≥ 1.</summary>
    public int MaxDequeueCount { get; init; } = 5;

    /// <summary>Delay before a failed message becomes visible again.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.Zero;

    /// <summary>Longest wait between polls of an empty queue.</summary>
    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a fetched message stays hidden while its handler runs (the Functions runtime uses 10 minutes).</summary>
    public TimeSpan ProcessingLease { get; init; } = TimeSpan.FromMinutes(10);
}

/// <summary>
/// Runs a handler over a queue with Azure Functions QueueTrigger semantics: on success the message is deleted; on failure
/// it is released after <see cref="QueueProcessingOptions.VisibilityTimeout"/>, and once its dequeue count reaches
/// <see cref="QueueProcessingOptions.MaxDequeueCount"/> its text is copied unchanged to <c>&lt;queue&gt;-poison</c>, the
/// original deleted, and a <see cref="DeadLetterRecord"/> (last error, whether it was permanent, the poison copy's id) appended to
/// <c>reports/monitoring/dead_letters.jsonl</c>. Messages of a batch are
/// handled one after another, in order.
/// </summary>
public sealed class QueueProcessor
{
    /// <summary>Dead-letter log: one JSON <see cref="DeadLetterRecord"/> line per poisoned message.</summary>
    public const string DeadLetterLog = "reports/monitoring/dead_letters.jsonl";

    private readonly IQueueFactory _queues;
    private readonly IMessageQueue _queue;
    private readonly Func<string, CancellationToken, Task> _handler;
    private readonly QueueProcessingOptions _options;
    private readonly IBlobStore _blobs;
    private readonly TimeProvider _time;
    private readonly ILogger _log;
    private readonly Action<string>? _deadLettered;

    /// <summary>
    /// Creates a processor for <paramref name="queueName"/>; <paramref name="deadLettered"/>, when given, is called with the
    /// source queue's name for every message moved to the poison queue (e.g. to count it on the pipeline's metrics).
    /// </summary>
    public QueueProcessor(IQueueFactory queues, string queueName, Func<string, CancellationToken, Task> handler, QueueProcessingOptions options,
        IBlobStore blobs, TimeProvider time, ILogger? log = null, Action<string>? deadLettered = null)
    {
        _queues = queues;
        _queue = queues.GetQueue(queueName);
        _handler = handler;
        _options = options;
        _blobs = blobs;
        _time = time;
        _log = log ?? NullLogger.Instance;
        _deadLettered = deadLettered;
    }

    /// <summary>Name of the poison queue for <paramref name="queueName"/>.</summary>
    public static string PoisonQueueName(string queueName) => queueName + "-poison";

    /// <summary>Fetches one batch and handles it; returns the number of messages fetched.</summary>
    public async Task<int> ProcessOnceAsync(CancellationToken ct = default)
    {
        await _queue.CreateIfNotExistsAsync(ct).ConfigureAwait(false);
        var messages = await _queue.ReceiveAsync(_options.BatchSize, _options.ProcessingLease, ct).ConfigureAwait(false);
        foreach (var m in messages)
        {
            if (m.DequeueCount > _options.MaxDequeueCount)
            {
                await PoisonAsync(m, "dequeue count exceeded before processing", null, ct).ConfigureAwait(false);
                continue;
            }
            try
            {
                await _handler(m.Text, ct).ConfigureAwait(false);
                await _queue.DeleteAsync(m, ct).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                var error = $"{ex.GetType().Name}: {ex.Message}";
                if (m.DequeueCount >= _options.MaxDequeueCount)
                {
                    await PoisonAsync(m, error, ex, ct).ConfigureAwait(false);
                }
                else
                {
                    _log.LogWarning("{Queue} message {Id} failed (attempt {Attempt}/{Max}), retrying: {Error}",
                        _queue.Name, m.Id, m.DequeueCount, _options.MaxDequeueCount, error);
                    await _queue.UpdateVisibilityAsync(m, _options.VisibilityTimeout, ct).ConfigureAwait(false);
                }
            }
        }
        return messages.Count;
    }

    /// <summary>Processes until a poll finds no visible message (used by replay on a simulated clock); returns messages handled.</summary>
    public async Task<int> DrainAsync(CancellationToken ct = default)
    {
        var total = 0;
        int n;
        while ((n = await ProcessOnceAsync(ct).ConfigureAwait(false)) > 0) total += n;
        return total;
    }

    /// <summary>Polls until cancelled, backing off (with jitter, up to the max polling interval) while the queue is empty.</summary>
    public async Task RunAsync(CancellationToken ct)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (!ct.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await ProcessOnceAsync(ct).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (StorageException ex)
            {
                _log.LogWarning("{Queue}: storage unavailable ({Error}); backing off", _queue.Name, ex.Message);
                n = 0;
            }
            if (n > 0)
            {
                delay = TimeSpan.FromMilliseconds(100);
                continue;
            }
            var jittered = delay * (0.8 + 0.4 * Random.Shared.NextDouble());
            try { await Task.Delay(jittered, _time, ct).ConfigureAwait(false); }
            catch (OperationCanceledException) { return; }
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxPollingInterval.Ticks));
        }
    }

    private async Task PoisonAsync(QueueMessage m, string error, Exception? exception, CancellationToken ct)
    {
        var poison = _queues.GetQueue(PoisonQueueName(_queue.Name));
        await poison.CreateIfNotExistsAsync(ct).ConfigureAwait(false);
        var poisonId = await poison.SendAsync(m.Text, null, ct).ConfigureAwait(false);
        var record = DeadLetterRecord.ForLastDelivery(_time.GetUtcNow(), _queue.Name, m.Id, poisonId, m.DequeueCount, m.Text, exception, error);
        await _blobs.AppendJsonLineAsync(DeadLetterLog, record, ct).ConfigureAwait(false);
        await _queue.DeleteAsync(m, ct).ConfigureAwait(false);
        _deadLettered?.Invoke(_queue.Name);
        _log.LogError("{Queue} message {Id} moved to {Poison} after {Count} deliveries: {Error}", _queue.Name, m.Id, poison.Name, m.DequeueCount, error);
    }
}
