using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Hosting;

/// <summary>The adapters a pipeline run is wired to.</summary>
/// <param name="Blobs">Blob store (embedded folder or Azure).</param>
/// <param name="Queues">Queues on the same backend.</param>
/// <param name="Locks">Distributed lock on the same backend.</param>
/// <param name="Slack">Slack webhooks (or <c>DisabledNotifiers</c> in dry-run).</param>
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
    string StorageDescription);
