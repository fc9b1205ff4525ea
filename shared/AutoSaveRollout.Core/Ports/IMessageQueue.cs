namespace AutoSaveRollout.Core.Ports;

/// <summary>
/// A message received from a queue. <see cref="PopReceipt"/> proves the receive and is needed to delete the
/// message or change its visibility; <see cref="DequeueCount"/> counts receives including this one (Azure semantics).
/// </summary>
/// <param name="Id">Message id, stable across receives.</param>
/// <param name="PopReceipt">Receipt from the latest receive or visibility update.</param>
/// <param name="Text">Message text (already decoded: the Azure adapter handles base64 encoding on the wire).</param>
/// <param name="DequeueCount">Number of times the message has been received, ≥ 1.</param>
/// <param name="InsertedAt">When the message was first enqueued (UTC).</param>
public sealed record QueueMessage(string Id, string PopReceipt, string Text, int DequeueCount, DateTimeOffset InsertedAt);

/// <summary>
/// Queue port with Azure Queue storage semantics: at-least-once delivery, a received message is invisible for the
/// visibility timeout and reappears unless deleted with its pop receipt. Implementations: embedded file queue and
/// Azure Queue storage (Azure SDK). Members throw <see cref="StorageException"/> on backend failure
/// (Azure 404 <c>MessageNotFound</c> / 400 <c>PopReceiptMismatch</c> when the receipt is stale).
/// </summary>
public interface IMessageQueue
{
    /// <summary>Queue name (lowercase letters, digits, '-', 3–63 characters).</summary>
    string Name { get; }

    /// <summary>Creates the queue when it does not exist.</summary>
    Task CreateIfNotExistsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Deletes every message of the queue, visible or not (Azure Queue "Clear Messages"); a missing queue is left missing.
    /// Used to empty a replay's store; never by the stages.
    /// </summary>
    Task ClearAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Enqueues <paramref name="text"/> (UTF-8, at most 64 KiB once encoded; larger payloads must go by blob reference),
    /// invisible for <paramref name="initialVisibilityDelay"/> (default: visible at once). Returns the message id.
    /// </summary>
    Task<string> SendAsync(string text, TimeSpan? initialVisibilityDelay = null, CancellationToken cancellationToken = default);

    /// <summary>Receives up to <paramref name="maxMessages"/> (1–32) visible messages and hides them for <paramref name="visibilityTimeout"/>.</summary>
    Task<IReadOnlyList<QueueMessage>> ReceiveAsync(int maxMessages, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default);

    /// <summary>Deletes a received message (by id and pop receipt).</summary>
    Task DeleteAsync(QueueMessage message, CancellationToken cancellationToken = default);

    /// <summary>Makes a received message visible again after <paramref name="visibilityTimeout"/>; returns it with its new pop receipt.</summary>
    Task<QueueMessage> UpdateVisibilityAsync(QueueMessage message, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default);
}

/// <summary>Hands out queues by name on one storage backend.</summary>
public interface IQueueFactory
{
    /// <summary>The queue called <paramref name="name"/> (not created until <see cref="IMessageQueue.CreateIfNotExistsAsync"/>).</summary>
    IMessageQueue GetQueue(string name);
}
