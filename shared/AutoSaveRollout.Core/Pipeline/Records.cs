using System.Text;
using AutoSaveRollout.Core.Ports;
using Microsoft.Extensions.Logging;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Core.Gates;

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
public sealed record DecisionMetric(double? Value, double? Threshold, double? WarnAt, DecisionStatus? Status);

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
public sealed record RollbackPlan(string FromPhase, string ToPhase, string Reason, string Command)
{
    /// <summary>Name of the operator CLI in printed commands (the published binary).</summary>
    public const string DefaultCliName = "autosave-rollout";

    /// <summary>
    /// The manual rollback command for humans, e.g.
    /// <c>autosave-rollout rollback --flag autosave --from B --to A --reason "p95_s violation" --decision dec-…</c>.
    /// </summary>
    public static string CommandFor(string cliName, string flag, string fromPhase, string toPhase, string reason, string decisionId) =>
        $"{cliName} rollback --flag {flag} --from {fromPhase} --to {toPhase} --reason \"{reason}\" --decision {decisionId}";
}

/// <summary>
/// The runbook log (<see cref="StorePaths.Runbook"/>): one text line per rollback,
/// <c>{RFC 3339 UTC time} {decision id} [dry-run ]{rendered autosave-rollback template}</c>.
/// </summary>
public static class Runbook
{
    /// <summary>The line without its timestamp (leading space and trailing LF included); identifies a rollback's line.</summary>
    public static string Entry(string decisionId, bool dryRun, string text) => $" {decisionId} {(dryRun ? "[dry-run] " : "")}{text}\n";

    /// <summary>The whole line as appended at <paramref name="now"/>.</summary>
    public static string Line(DateTimeOffset now, string decisionId, bool dryRun, string text) =>
        Telemetry.Rfc3339.Format(now) + Entry(decisionId, dryRun, text);

    /// <summary>
    /// Appends the line of rollback <paramref name="id"/> at <paramref name="now"/> unless the log already holds its
    /// <see cref="Entry"/>: one line per rollback even across a crash between the append and the outbox update.
    /// </summary>
    public static async Task AppendOnceAsync(IBlobStore blobs, DateTimeOffset now, string id, bool dryRun, string text,
        ILogger log, CancellationToken ct)
    {
        var entry = Entry(id, dryRun, text);
        if (await blobs.TryGetAsync(StorePaths.Runbook, ct).ConfigureAwait(false) is { } existing
            && Encoding.UTF8.GetString(existing.Content).Contains(entry, StringComparison.Ordinal))
        {
            log.LogInformation("report {DecisionId}: runbook line already written; not appending it again", id);
            return;
        }
        await blobs.AppendAsync(StorePaths.Runbook, Encoding.UTF8.GetBytes(Line(now, id, dryRun, text)), ct).ConfigureAwait(false);
    }
}

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
    public required DecisionStatus Status { get; init; }
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
    // gates (issue 11)
    /// <summary>
    /// Confidence-mode evidence (<c>rollout.gate.mode: confidence</c>): the window's counts for later look-backs and, per
    /// sampled metric and look-back, n, the count, the p-value and which look-back decided. Null (and not written) in
    /// point mode and in phase off.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public AutoSaveRollout.Core.Gates.GateEvidence? Gate { get; init; }
}

/// <summary>Collector progress (<see cref="StorePaths.CollectorState"/>).</summary>
public sealed record CollectorState
{
    /// <summary>Latest window collected and handed to the Analyzer; back-fill resumes after it.</summary>
    public DateTimeOffset? LastCollectedWindowStart { get; init; }

    /// <summary>
    /// Window the very first run started with (the latest closed one then); back-fill starts there while
    /// <see cref="LastCollectedWindowStart"/> is null, so a first window that failed is not skipped.
    /// </summary>
    public DateTimeOffset? FirstWindowStart { get; init; }
}

/// <summary>Analyze-queue message: a window's batch is ready, or the Collector gave up on a window.</summary>
/// <param name="Type"><c>batch.collected</c>, or <c>collector.retry_exhausted</c> (<see cref="Collector.RetryExhaustedEvent"/>).</param>
/// <param name="WindowStart">Window start (UTC).</param>
/// <param name="Manifest">Manifest blob path (<c>batch.collected</c>); null otherwise.</param>
/// <param name="Failure">What failed (<c>collector.retry_exhausted</c>); null otherwise.</param>
public sealed record AnalyzeMessage(string Type, DateTimeOffset WindowStart, string? Manifest, CollectorFailure? Failure = null);

/// <summary>Report-queue message: a decision (or a collector incident) is ready.</summary>
/// <param name="Type"><c>decision.made</c>, or <c>collector.retry_exhausted</c> for a <see cref="CollectorIncident"/>.</param>
/// <param name="WindowStart">Window start (UTC).</param>
/// <param name="Decision">Decision (or incident) blob path.</param>
/// <param name="DecisionId">Decision (or incident) id.</param>
public sealed record ReportMessage(string Type, DateTimeOffset WindowStart, string Decision, string DecisionId);

/// <summary>One failed attempt at reading a window.</summary>
/// <param name="At">When the attempt failed (UTC).</param>
/// <param name="Error"><c>{Type}: {Message}</c>, secret-free, at most 500 characters.</param>
/// <param name="Transient">Whether the failure was classed transient (retryable).</param>
public sealed record CollectorAttemptError(DateTimeOffset At, string Error, bool Transient);

/// <summary>
/// The Collector gave up on a window for this run: its retries were exhausted, or a failure was permanent. One line of
/// <see cref="StorePaths.RetryFailures"/> per give-up, and the payload of the <c>collector.retry_exhausted</c> message.
/// </summary>
public sealed record CollectorFailure
{
    /// <summary>Window start (UTC).</summary>
    public required DateTimeOffset WindowStart { get; init; }
    /// <summary>Window end (UTC, exclusive).</summary>
    public required DateTimeOffset WindowEnd { get; init; }
    /// <summary>Telemetry source description (no credentials).</summary>
    public required string Source { get; init; }
    /// <summary>Attempts made, the first included (1 + retries).</summary>
    public required int Attempts { get; init; }
    /// <summary>Every attempt's failure, in order.</summary>
    public required IReadOnlyList<CollectorAttemptError> Errors { get; init; }
    /// <summary>When the first attempt started (UTC).</summary>
    public required DateTimeOffset FirstAttemptAt { get; init; }
    /// <summary>When the Collector gave up (UTC).</summary>
    public required DateTimeOffset GaveUpAt { get; init; }
    /// <summary><c>retries_exhausted</c> (every attempt failed transiently) or <c>permanent_error</c> (the last failure is not retryable).</summary>
    public required string Reason { get; init; }
}

/// <summary>
/// The Analyzer's record of a <c>collector.retry_exhausted</c> event (<see cref="StorePaths.CollectorIncident"/>), written
/// once per window: the Reporter pages on it. No decision, no rollback, no phase change: missing data is not a violation.
/// </summary>
public sealed record CollectorIncident
{
    /// <summary>Deterministic id: <c>inc-{window id}-{phase}-collector.retry_exhausted</c>.</summary>
    public required string IncidentId { get; init; }
    /// <summary>Always <c>collector.retry_exhausted</c>: the metric named in the messages.</summary>
    public required string Metric { get; init; }
    /// <summary>Feature flag.</summary>
    public required string Flag { get; init; }
    /// <summary>Phase in effect for the window (from the rollout state).</summary>
    public required string Phase { get; init; }
    /// <summary>Window start (UTC).</summary>
    public required DateTimeOffset WindowStart { get; init; }
    /// <summary>Window end (UTC, exclusive).</summary>
    public required DateTimeOffset WindowEnd { get; init; }
    /// <summary>What failed (from the first give-up; later give-ups of the same window are only in the failure log).</summary>
    public required CollectorFailure Failure { get; init; }
    /// <summary>When the Analyzer recorded it (UTC).</summary>
    public required DateTimeOffset RaisedAt { get; init; }
}
