using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// One line of <see cref="QueueProcessor.DeadLetterLog"/>: a message moved to <c>&lt;queue&gt;-poison</c> after its last
/// failed delivery. The poison message's text is the original text, unchanged (Azure Functions semantics).
/// </summary>
public sealed record DeadLetterRecord
{
    /// <summary>When the message was poisoned (UTC).</summary>
    public required DateTimeOffset At { get; init; }

    /// <summary>Source queue, e.g. <c>autosave-report</c>.</summary>
    public required string Queue { get; init; }

    /// <summary>Poison queue, <c>&lt;queue&gt;-poison</c>.</summary>
    public required string PoisonQueue { get; init; }

    /// <summary>The message's id in the source queue.</summary>
    public required string MessageId { get; init; }

    /// <summary>The copy's id in the poison queue (what <c>dlq list</c> shows and <c>dlq retry</c> takes); null in logs written before it was recorded.</summary>
    public string? PoisonMessageId { get; init; }

    /// <summary>Deliveries of the source message, including the last failed one.</summary>
    public required int DequeueCount { get; init; }

    /// <summary>The last error, <c>{exception type name}: {message}</c> (messages never carry secrets).</summary>
    public required string Error { get; init; }

    /// <summary>Full type name of the last exception; null when the message was poisoned without being handled (dequeue count already exceeded).</summary>
    public string? ExceptionType { get; init; }

    /// <summary>True when the last error was permanent (<see cref="Reliability.TransientFailures.IsTransient"/> false): retrying unchanged will fail again.</summary>
    public bool Permanent { get; init; }

    /// <summary>The message text.</summary>
    public required string Text { get; init; }

    /// <summary>
    /// The record of a message whose last delivery failed with <paramref name="exception"/> (null: poisoned without being
    /// handled, <paramref name="error"/> says why). Error is <c>{exception type name}: {message}</c>; Permanent is
    /// <c>!TransientFailures.IsTransient</c>. Used by <see cref="QueueProcessor"/> and by the Azure Functions queue
    /// functions, which write it before failing the last delivery (the runtime then makes the poison copy, so
    /// <paramref name="poisonMessageId"/> is null there and <see cref="DeadLetterService"/> joins by queue and text).
    /// </summary>
    public static DeadLetterRecord ForLastDelivery(DateTimeOffset at, string queue, string messageId, string? poisonMessageId, int dequeueCount,
        string text, Exception? exception, string? error = null) => new()
    {
        At = at,
        Queue = queue,
        PoisonQueue = QueueProcessor.PoisonQueueName(queue),
        MessageId = messageId,
        PoisonMessageId = poisonMessageId,
        DequeueCount = dequeueCount,
        Error = error ?? (exception is null ? "unknown" : $"{exception.GetType().Name}: {exception.Message}"),
        ExceptionType = exception?.GetType().FullName,
        Permanent = exception is not null && !Reliability.TransientFailures.IsTransient(exception),
        Text = text,
    };
}
