using AutoSaveRollout.Core.Outboxes;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// What the <see cref="Reporter"/> hands on after a report: the port through which the phase lifecycle
/// (<c>Lifecycle/LifecycleService</c>) learns of paged incidents and violations, and gets its tick. The Reporter does
/// not know the lifecycle; without a follow-up it only reports.
/// </summary>
public interface IReportFollowUp
{
    /// <summary>
    /// A decision's report ran (<paramref name="outbox"/> as it ended): records the incident once its PagerDuty trigger went
    /// out, and voids the phase's pending approvals after a violation. Errors propagate, so the report message is retried.
    /// </summary>
    Task DecisionReportedAsync(DecisionRecord decision, Outbox outbox, CancellationToken ct = default);

    /// <summary>A collector incident's report ran: records the incident once its PagerDuty trigger went out. Errors propagate.</summary>
    Task CollectorIncidentReportedAsync(CollectorIncident incident, Outbox outbox, CancellationToken ct = default);

    /// <summary>One lifecycle pass (escalation, RCA deadlines, moves, daily report). The Reporter logs its errors and goes on.</summary>
    Task TickAsync(CancellationToken ct = default);
}
