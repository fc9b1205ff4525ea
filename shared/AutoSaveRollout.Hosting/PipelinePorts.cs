using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using Microsoft.Extensions.Logging;
using AutoSaveRollout.Core.Reliability;

namespace AutoSaveRollout.Hosting;

/// <summary>The adapters a pipeline run is wired to.</summary>
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

    /// <summary>
    /// The lifecycle stage on these ports: approvals, phase moves, escalation, RCA deadlines and the daily report
    /// (<see cref="LifecycleService"/>), with <paramref name="dryRun"/> and the design's default durations.
    /// </summary>
    public LifecycleService CreateLifecycle(RolloutPolicy policy, TemplateRenderer templates, TimeProvider time, bool dryRun, ILogger? log = null) =>
        new(Blobs, Locks, policy, templates, Slack, Flags, PagerDutyIncidents, time, new LifecycleOptions { DryRun = dryRun, EscalationPriority = EscalationPriority }, log);
}
