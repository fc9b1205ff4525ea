namespace AutoSaveRollout.Core.Reporting;

/// <summary>The SLO card on the dashboard: the latest window's SLIs and status.</summary>
/// <param name="Phase">Phase the window was judged in.</param>
/// <param name="Window">ISO 8601 interval of the window.</param>
/// <param name="WindowStart">Window start (UTC).</param>
/// <param name="P95">P95 save latency, seconds (null when undefined).</param>
/// <param name="ErrRate">Error rate, percent.</param>
/// <param name="Drift">History drift moving average, events per window.</param>
/// <param name="CollectorLatency">Collector latency, seconds.</param>
/// <param name="Status">Batch status.</param>
/// <param name="DecisionId">Decision behind the card.</param>
public sealed record SloCard(string Phase, string Window, DateTimeOffset WindowStart, double? P95, double? ErrRate, double? Drift,
    double? CollectorLatency, string Status, string DecisionId)
{
    // gates (issue 11): absent in point mode, so point-mode dashboards are unchanged
    /// <summary>The confidence gate's evidence in one line (<see cref="AutoSaveRollout.Core.Gates.GateEvidence.Summary"/>); null in point mode.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Evidence { get; init; }

    /// <summary>The confidence gate's evidence of the window's decision (counts, per-look-back tests); null in point mode.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public AutoSaveRollout.Core.Gates.GateEvidence? Gate { get; init; }
}

/// <summary>A recent decision as listed on the dashboard.</summary>
/// <param name="DecisionId">Decision id.</param>
/// <param name="WindowStart">Window start (UTC).</param>
/// <param name="Phase">Phase judged in.</param>
/// <param name="Status">Batch status.</param>
/// <param name="RollbackRequired">Whether a rollback was required.</param>
/// <param name="Violations">Violated metrics.</param>
/// <param name="P95">P95, seconds.</param>
/// <param name="ErrRate">Error rate, percent.</param>
public sealed record DashboardDecision(string DecisionId, DateTimeOffset WindowStart, string Phase, string Status, bool RollbackRequired,
    IReadOnlyList<string> Violations, double? P95, double? ErrRate);

/// <summary><c>reports/monitoring/dashboard.json</c>.</summary>
public sealed record Dashboard
{
    /// <summary>Feature flag.</summary>
    public required string Flag { get; init; }
    /// <summary>Phase in effect for the next window.</summary>
    public required string Phase { get; init; }
    /// <summary>True from a rollback until one clean (ok or warn) window after it.</summary>
    public required bool RollbackActive { get; init; }
    /// <summary>The latest window's SLO card.</summary>
    public SloCard? SloCard { get; init; }
    /// <summary>Promotion eligibility of the phase in effect (null in off).</summary>
    public AutoSaveRollout.Core.Lifecycle.PromotionStatus? Promotion { get; init; }
    /// <summary>Approvals, blocked moves, open incidents and the collector cadence (written by the lifecycle tick; null before it ran).</summary>
    public AutoSaveRollout.Core.Lifecycle.LifecycleView? Lifecycle { get; init; }
    /// <summary>Most recent decisions, newest first (at most <see cref="RecentLimit"/>).</summary>
    public required IReadOnlyList<DashboardDecision> RecentDecisions { get; init; }
    /// <summary>Last update (UTC).</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>How many decisions the dashboard lists.</summary>
    public const int RecentLimit = 20;
}

/// <summary>Kinds of outward action.</summary>
public static class ActionKinds
{
    /// <summary>Slack incoming-webhook post.</summary>
    public const string Slack = "slack";
    /// <summary>PagerDuty Events API v2 trigger.</summary>
    public const string PagerDuty = "pagerduty";
    /// <summary>Rollback flag-service call.</summary>
    public const string Flag = "flag_rollback";
    /// <summary>Runbook log line.</summary>
    public const string Runbook = "runbook";
    /// <summary>Phase move (promotion) flag-service call.</summary>
    public const string FlagPhase = "flag_phase";
    /// <summary>PagerDuty REST priority change (escalation).</summary>
    public const string PagerDutyPriority = "pagerduty_priority";
}

/// <summary>Action statuses in the outbox.</summary>
public static class ActionStatus
{
    /// <summary>Recorded, not yet confirmed.</summary>
    public const string Pending = "pending";
    /// <summary>Delivered.</summary>
    public const string Done = "done";
    /// <summary>Rendered and recorded only (<c>--dry-run</c>).</summary>
    public const string DryRun = "dry_run";
    /// <summary>Last attempt failed; retried with the message.</summary>
    public const string Failed = "failed";
}

/// <summary>One outward action of a decision's report.</summary>
public sealed record OutboxAction
{
    /// <summary>Stable id within the decision, e.g. <c>slack:#incident-autosave:autosave-incident</c>.</summary>
    public required string Id { get; init; }
    /// <summary><see cref="ActionKinds"/> value.</summary>
    public required string Kind { get; init; }
    /// <summary>Channel, <c>pagerduty</c>, <c>flag-service</c> or <c>runbook</c> (never a URL).</summary>
    public required string Target { get; init; }
    /// <summary>Template id rendered.</summary>
    public required string Template { get; init; }
    /// <summary>Rendered text (Slack text is mrkdwn-escaped).</summary>
    public required string Text { get; init; }
    /// <summary><see cref="ActionStatus"/> value.</summary>
    public required string Status { get; init; }
    /// <summary>Attempts made.</summary>
    public int Attempts { get; init; }
    /// <summary>Last error (secret-free), if any.</summary>
    public string? LastError { get; init; }
    /// <summary>When it completed.</summary>
    public DateTimeOffset? CompletedAt { get; init; }
}

/// <summary>Outbox of one decision (<c>reports/outbox/…</c>): the planned outward actions and their progress.</summary>
public sealed record Outbox
{
    /// <summary>Decision id.</summary>
    public required string DecisionId { get; init; }
    /// <summary>Whether the plan was made in dry-run mode.</summary>
    public required bool DryRun { get; init; }
    /// <summary>Actions in execution order.</summary>
    public required IReadOnlyList<OutboxAction> Actions { get; init; }
}
