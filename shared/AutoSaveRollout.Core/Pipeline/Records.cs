namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// Manifest of a collected window (<see cref="StorePaths.Manifest"/>), written after the batch: its presence marks the
/// window as collected (idempotent by window).
/// </summary>
public sealed record BatchManifest
{
    /// <summary>Window start (UTC, inclusive).</summary>
    public required DateTimeOffset WindowStart { get; init; }
    /// <summary>Window end (UTC, exclusive).</summary>
    public required DateTimeOffset WindowEnd { get; init; }
    /// <summary>Telemetry source description (no credentials).</summary>
    public required string Source { get; init; }
    /// <summary>Accepted events per known event name (after dedup).</summary>
    public required IReadOnlyDictionary<string, long> Counts { get; init; }
    /// <summary>Valid lines with other event names (not in the batch), per name.</summary>
    public required IReadOnlyDictionary<string, long> Ignored { get; init; }
    /// <summary>Rejected lines attributed to this window.</summary>
    public required long Rejected { get; init; }
    /// <summary>Lines dropped because their <c>event_id</c> was already seen in this window (first wins).</summary>
    public required long Duplicates { get; init; }
    /// <summary>Blob path of the normalised batch.</summary>
    public required string BatchPath { get; init; }
    /// <summary>Lowercase hex SHA-256 of the batch bytes.</summary>
    public required string BatchSha256 { get; init; }
    /// <summary>Batch size in bytes.</summary>
    public required long BatchBytes { get; init; }
    /// <summary>Blob path of the rejected-lines file; null when nothing was rejected.</summary>
    public string? RejectedPath { get; init; }
    /// <summary>When the batch was written (UTC).</summary>
    public required DateTimeOffset WrittenAt { get; init; }
    /// <summary>Batch written time − window end, in SECONDS (plus any simulated latency).</summary>
    public required double CollectorLatencyS { get; init; }
    /// <summary>Events raised by the Collector for this window, e.g. <c>collector.delayed</c> (latency &gt; 5 min).</summary>
    public required IReadOnlyList<string> Events { get; init; }
}

/// <summary>A metric in a decision record.</summary>
/// <param name="Value">Measured value, unrounded; null when undefined.</param>
/// <param name="Threshold">SLO threshold; null in phase off.</param>
/// <param name="WarnAt">warn_ratio × threshold; null for drift and in phase off.</param>
/// <param name="Status"><c>ok</c>/<c>warn</c>/<c>violation</c>/<c>inconclusive</c>; null in phase off.</param>
public sealed record DecisionMetric(double? Value, double? Threshold, double? WarnAt, string? Status);

/// <summary>Counts behind a decision.</summary>
/// <param name="Completed">Completed saves.</param>
/// <param name="Errors">Failed saves.</param>
/// <param name="RetryableErrors">Failed saves marked retryable.</param>
/// <param name="DriftEvents">Drift events in this window.</param>
/// <param name="DriftWindows">Windows in the drift moving average (1–4).</param>
public sealed record DecisionSamples(long Completed, long Errors, long RetryableErrors, long DriftEvents, int DriftWindows);

/// <summary>The rollback a violation requires: exactly one phase back.</summary>
/// <param name="FromPhase">Phase in effect (A, B, C).</param>
/// <param name="ToPhase">One phase back (B, A, off).</param>
/// <param name="Reason">E.g. <c>p95_s violation</c>.</param>
/// <param name="Command">The command a human runs to perform it by hand.</param>
public sealed record RollbackPlan(string FromPhase, string ToPhase, string Reason, string Command);

/// <summary>The Analyzer's decision for one window (<see cref="StorePaths.Decision"/>).</summary>
public sealed record DecisionRecord
{
    /// <summary>Deterministic id: <c>dec-{window id}-{phase}-{12 hex of SHA-256(flag|window|phase|batch sha|policy sha)}</c>.</summary>
    public required string DecisionId { get; init; }
    /// <summary>Feature flag.</summary>
    public required string Flag { get; init; }
    /// <summary>Window start (UTC).</summary>
    public required DateTimeOffset WindowStart { get; init; }
    /// <summary>Window end (UTC, exclusive).</summary>
    public required DateTimeOffset WindowEnd { get; init; }
    /// <summary>Phase in effect for this window: A, B, C or off.</summary>
    public required string Phase { get; init; }
    /// <summary>Batch status: ok, warn, violation, inconclusive or off.</summary>
    public required string Status { get; init; }
    /// <summary>True exactly when <see cref="Status"/> is violation.</summary>
    public required bool RollbackRequired { get; init; }
    /// <summary>Metrics by name: p95_s (s), error_rate_pct (%), history_drift (events/window), collector_latency_s (s).</summary>
    public required IReadOnlyDictionary<string, DecisionMetric> Metrics { get; init; }
    /// <summary>Violated metric names.</summary>
    public required IReadOnlyList<string> Violations { get; init; }
    /// <summary>Counts behind the metrics.</summary>
    public required DecisionSamples Samples { get; init; }
    /// <summary>The rollback to perform; null unless <see cref="RollbackRequired"/>.</summary>
    public RollbackPlan? Rollback { get; init; }
    /// <summary>Phase in effect for the next window.</summary>
    public required string NextPhase { get; init; }
    /// <summary>True when the Collector flagged <c>collector.delayed</c> for this window.</summary>
    public required bool CollectorDelayed { get; init; }
    /// <summary>SHA-256 of the policy file used.</summary>
    public required string PolicySha256 { get; init; }
    /// <summary>SHA-256 of the analysed batch.</summary>
    public required string BatchSha256 { get; init; }
    /// <summary>Path of the analysed batch.</summary>
    public required string BatchPath { get; init; }
    /// <summary>When the decision was made (UTC).</summary>
    public required DateTimeOffset DecidedAt { get; init; }
}

/// <summary>Rollout state (<see cref="StorePaths.RolloutState"/>), written with optimistic concurrency.</summary>
public sealed record RolloutState
{
    /// <summary>Phase in effect for the next window: A, B, C or off.</summary>
    public required string Phase { get; init; }
    /// <summary>True from a rollback until one clean (ok or warn) window after it.</summary>
    public bool RollbackActive { get; init; }
    /// <summary>Decision that caused the active rollback, if any.</summary>
    public string? RollbackDecisionId { get; init; }
    /// <summary>Window of the active rollback's decision.</summary>
    public DateTimeOffset? RollbackWindowStart { get; init; }
    /// <summary>Latest window whose decision has been applied to <see cref="Phase"/>.</summary>
    public DateTimeOffset? LastDecidedWindowStart { get; init; }
    /// <summary>Last update (UTC).</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>Collector progress (<see cref="StorePaths.CollectorState"/>).</summary>
public sealed record CollectorState
{
    /// <summary>Latest window collected and handed to the Analyzer; back-fill resumes after it.</summary>
    public DateTimeOffset? LastCollectedWindowStart { get; init; }
}

/// <summary>Analyze-queue message: a window's batch is ready.</summary>
/// <param name="Type">Always <c>batch.collected</c>.</param>
/// <param name="WindowStart">Window start (UTC).</param>
/// <param name="Manifest">Manifest blob path.</param>
public sealed record AnalyzeMessage(string Type, DateTimeOffset WindowStart, string Manifest);

/// <summary>Report-queue message: a decision is ready.</summary>
/// <param name="Type">Always <c>decision.made</c>.</param>
/// <param name="WindowStart">Window start (UTC).</param>
/// <param name="Decision">Decision blob path.</param>
/// <param name="DecisionId">Decision id.</param>
public sealed record ReportMessage(string Type, DateTimeOffset WindowStart, string Decision, string DecisionId);
