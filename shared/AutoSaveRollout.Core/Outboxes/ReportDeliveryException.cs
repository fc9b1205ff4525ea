namespace AutoSaveRollout.Core.Outboxes;

/// <summary>One or more outward actions of a report failed; the message is retried and completed actions are not repeated.</summary>
public sealed class ReportDeliveryException(string message, bool isTransient) : Exception(message)
{
    /// <summary>True when every failure was transient.</summary>
    public bool IsTransient { get; } = isTransient;
}
