using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>What the lifecycle's jobs share: the store and the records they read and write, the policy, clock and options.</summary>
internal sealed class LifecycleContext(IBlobStore blobs, RolloutPolicy policy, TemplateRenderer templates, TimeProvider time, LifecycleOptions options, ILogger log)
{
    public IBlobStore Blobs { get; } = blobs;
    public RolloutPolicy Policy { get; } = policy;
    public TemplateRenderer Templates { get; } = templates;
    public TimeProvider Time { get; } = time;
    public LifecycleOptions Options { get; } = options;
    public ILogger Log { get; } = log;
    public AuditLog Audit { get; } = new(blobs, log);
    public JsonRecordStore<RolloutState> State { get; } = new(blobs, StorePaths.RolloutState);
    public JsonRecordStore<IncidentLedger> Ledger { get; } = new(blobs, StorePaths.Incidents);
    public JsonRecordStore<LifecycleProgress> Progress { get; } = new(blobs, StorePaths.Lifecycle);
    public JsonRecordStore<Dashboard> Dashboard { get; } = new(blobs, StorePaths.Dashboard);
    public DateTimeOffset Now => Time.GetUtcNow();
}
