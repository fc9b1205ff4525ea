using AutoSaveRollout.Core.Pipeline;
namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>Lifecycle settings. Durations default to the design (sections 6.1 and 9).</summary>
public sealed record LifecycleOptions
{
    /// <summary>Record everything, send nothing outside (actions are recorded as <c>dry_run</c>).</summary>
    public bool DryRun { get; init; }
    /// <summary>An incident must be acknowledged within this time of PagerDuty opening it (evidence check): 15 min.</summary>
    public TimeSpan AcknowledgeWithin { get; init; } = TimeSpan.FromMinutes(15);
    /// <summary>Unacknowledged this long after the trigger → escalate: 30 min.</summary>
    public TimeSpan EscalateAfter { get; init; } = TimeSpan.FromMinutes(30);
    /// <summary>An RCA is due this long after the trigger; later the phase steps back: 24 h.</summary>
    public TimeSpan RcaDue { get; init; } = TimeSpan.FromHours(24);
    /// <summary>PagerDuty priority name an escalation raises the incident to: <c>P1</c>.</summary>
    public string EscalationPriority { get; init; } = "P1";
    /// <summary>Largest relative difference between the dashboard and a recomputation from the batches: 0.05 (±5%, a ratio).</summary>
    public double DashboardTolerance { get; init; } = 0.05;
    /// <summary>How many days after an incident's day an RCA file may be dated (<c>reports/rca/&lt;date&gt;.md</c>): 31.</summary>
    public int RcaSearchDays { get; init; } = 31;
    /// <summary>Incidents are polled for acknowledgement for at most this long after the trigger: 14 days.</summary>
    public TimeSpan PollFor { get; init; } = TimeSpan.FromDays(14);
    /// <summary><c>initiated_by</c> of runbook lines the lifecycle writes.</summary>
    public string Initiator { get; init; } = "autosave-rollout-monitor";
    /// <summary>CLI name in printed commands.</summary>
    public string CliName { get; init; } = RollbackPlan.DefaultCliName;
}
