using AutoSaveRollout.Core.Lifecycle;
using Microsoft.Azure.Functions.Worker;

namespace AutoSaveRollout.Functions;

/// <summary>
/// Timer trigger for the lifecycle tick (escalation of unacknowledged incidents, RCA deadlines, phase moves after approvals,
/// the phase C daily report): every 5 minutes (<c>%LifecycleSchedule%</c>, default <c>0 */5 * * * *</c>). The Reporter also
/// ticks after every report.
/// </summary>
public sealed class LifecycleFunction(LifecycleService lifecycle)
{
    /// <summary>Runs one tick.</summary>
    [Function("Lifecycle")]
    public Task Run([TimerTrigger("%LifecycleSchedule%")] TimerInfo timer, CancellationToken ct) => lifecycle.TickAsync(ct);
}
