namespace AutoSaveRollout.Core.Telemetry;

/// <summary>The telemetry event names the pipeline understands.</summary>
public static class EventNames
{
    /// <summary>A save finished; carries <c>duration_ms</c>.</summary>
    public const string SaveCompleted = "autosave.save.completed";
    /// <summary>A save failed; carries <c>retryable</c> and optionally <c>error_code</c>.</summary>
    public const string SaveError = "autosave.save.error";
    /// <summary><c>current.json</c> and <c>index.json</c> disagreed (history integrity drift).</summary>
    public const string HistoryDrift = "autosave.history.drift";
}

/// <summary>Kind of a telemetry event; <see cref="Other"/> events are valid but ignored (counted by name).</summary>
public enum TelemetryEventKind
{
    /// <summary><c>autosave.save.completed</c>.</summary>
    SaveCompleted,
    /// <summary><c>autosave.save.error</c>.</summary>
    SaveError,
    /// <summary><c>autosave.history.drift</c>.</summary>
    HistoryDrift,
    /// <summary>Any other event name.</summary>
    Other,
}

/// <summary>A validated telemetry event.</summary>
/// <param name="EventId">Unique id (dedup key within a window's batch).</param>
/// <param name="Timestamp">When it happened, normalised to UTC (offset zero).</param>
/// <param name="Kind">Parsed kind.</param>
/// <param name="EventName">The raw <c>event</c> value.</param>
/// <param name="DurationMs">Save duration in milliseconds (≥ 0, finite) for completed saves; otherwise null.</param>
/// <param name="Retryable">For save errors: whether the client may retry; otherwise null.</param>
/// <param name="ErrorCode">Optional error code of a save error.</param>
public sealed record TelemetryEvent(
    string EventId,
    DateTimeOffset Timestamp,
    TelemetryEventKind Kind,
    string EventName,
    double? DurationMs,
    bool? Retryable,
    string? ErrorCode);
