using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Hosting;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Functions;

/// <summary>
/// Timer trigger for the Collector stage, on the NCRONTAB schedule in the <c>CollectorSchedule</c> app setting: every
/// 5 minutes (<c>0 */5 * * * *</c>). Each firing collects only when <see cref="CollectorCadence.IsDue"/> says so: on the
/// 15-minute boundaries, and on every 5-minute boundary for 30 minutes after a rollback (<c>RolloutState.LastRollbackAt</c>).
/// The runtime runs a timer on one instance only (singleton listener lease).
/// </summary>
public sealed class CollectorFunction(Collector collector, PipelinePorts ports, TimeProvider time, ILogger<CollectorFunction> log)
{
    /// <summary>Collects every closed 15-minute window not collected yet (back-fill after missed runs) when this firing is due.</summary>
    [Function("Collector")]
    public async Task Run([TimerTrigger("%CollectorSchedule%")] TimerInfo timer, CancellationToken ct)
    {
        if (timer.IsPastDue)
            log.LogWarning("Collector timer is past due; collecting every window missed since the last run");
        else if (!CollectorCadence.IsDue(time.GetUtcNow(), await CollectorCadenceState.ReadLastRollbackAtAsync(ports.Blobs, log, ct)))
            return;
        await collector.CollectDueAsync(ct);
    }
}
