using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using Microsoft.Extensions.Logging;
using AutoSaveRollout.Core.Reliability;

namespace AutoSaveRollout.Hosting;

/// <summary>
/// The adapters a pipeline run is wired to (built by <see cref="RolloutPipelineRegistration.AddRolloutPipeline"/>), and the
/// one place the stages are constructed on them (<c>Create…</c>), so the registration and replay's simulated clock share it.
/// </summary>
/// <param name="Blobs">Blob store (embedded folder or Azure).</param>
/// <param name="Queues">Queues on the same backend.</param>
/// <param name="Locks">Distributed lock on the same backend.</param>
/// <param name="Slack">Slack webhooks, retried by <see cref="Retries"/> (or <c>DisabledNotifiers</c> in dry-run).</param>
/// <param name="PagerDuty">PagerDuty Events v2.</param>
/// <param name="Flags">Rollback flag service.</param>
/// <param name="StorageDescription">Where the data lives, for the operator (no secrets).</param>
public sealed record PipelinePorts(
    IBlobStore Blobs,
    IQueueFactory Queues,
    IDistributedLock Locks,
    ISlackNotifier Slack,
    IPagerDutyEvents PagerDuty,
    IRollbackFlagService Flags,
    string StorageDescription)
{
    /// <summary>
    /// The retry policy behind the Slack, PagerDuty and flag-service decorators; hand it to the Collector
    /// (<c>CollectorOptions.Retries</c>) and subscribe to <see cref="RetryPolicy.Retrying"/> to count retries.
    /// </summary>
    public RetryPolicy Retries { get; init; } = new();

    /// <summary>
    /// PagerDuty REST API v2 (incident status and priority) for escalation and the acknowledgement evidence check; null
    /// when <c>PagerDuty:ApiToken</c> is not configured (and in dry-run), in which case nothing is escalated and a move
    /// with incidents to check is blocked.
    /// </summary>
    public IPagerDutyIncidents? PagerDutyIncidents { get; init; }

    /// <summary>
    /// Name of the PagerDuty priority an unacknowledged incident is raised to through <see cref="PagerDutyIncidents"/>
    /// (<c>PagerDuty:EscalationPriority</c>; default <c>P1</c>).
    /// </summary>
    public string EscalationPriority { get; init; } = "P1";

    /// <summary>The Collector on these ports, reading <paramref name="source"/>; <paramref name="options"/> null = the Collector's defaults.</summary>
    public Collector CreateCollector(ITelemetrySource source, TimeProvider time, CollectorOptions? options = null, ILogger<Collector>? log = null) =>
        new(Blobs, Queues, Locks, source, time, options, log);

    /// <summary>The Analyzer on these ports; <paramref name="options"/> null = the Analyzer's defaults (initial phase A).</summary>
    public Analyzer CreateAnalyzer(RolloutPolicy policy, TimeProvider time, AnalyzerOptions? options = null, ILogger<Analyzer>? log = null) =>
        new(Blobs, Queues, policy, time, options, log);

    /// <summary>The Reporter on these ports, in dry-run when <paramref name="dryRun"/>, ticking <paramref name="lifecycle"/> after each report.</summary>
    public Reporter CreateReporter(RolloutPolicy policy, TemplateRenderer templates, TimeProvider time, bool dryRun, LifecycleService? lifecycle,
        ILogger<Reporter>? log = null) =>
        new(Blobs, policy, templates, Slack, PagerDuty, Flags, time, new ReporterOptions { DryRun = dryRun }, log, lifecycle);

    /// <summary>
    /// The lifecycle stage on these ports: approvals, phase moves, escalation, RCA deadlines and the daily report
    /// (<see cref="LifecycleService"/>), with <paramref name="dryRun"/> and the design's default durations.
    /// </summary>
    public LifecycleService CreateLifecycle(RolloutPolicy policy, TemplateRenderer templates, TimeProvider time, bool dryRun, ILogger? log = null) =>
        new(Blobs, Locks, policy, templates, Slack, Flags, PagerDutyIncidents, time, new LifecycleOptions { DryRun = dryRun, EscalationPriority = EscalationPriority }, log);
}
