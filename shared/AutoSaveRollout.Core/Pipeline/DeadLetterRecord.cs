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
}

