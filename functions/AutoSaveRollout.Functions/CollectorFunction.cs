using AutoSaveRollout.Core.Pipeline;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Functions;

/// <summary>
/// Timer trigger for the Collector stage, on the NCRONTAB schedule in the <c>CollectorSchedule</c> app setting
/// (<c>0 */15 * * * *</c>). The runtime runs a timer on one instance only (singleton listener lease).
/// </summary>
public sealed class CollectorFunction(Collector collector, ILogger<CollectorFunction> log)
{
    /// <summary>Collects every closed 15-minute window not collected yet (back-fill after missed runs).</summary>
    [Function("Collector")]
    public async Task Run([TimerTrigger("%CollectorSchedule%")] TimerInfo timer, CancellationToken ct)
    {
        if (timer.IsPastDue) log.LogWarning("Collector timer is past due; collecting every window missed since the last run");
        await collector.CollectDueAsync(ct);
    }
}
