namespace AutoSaveRollout.Core.Outboxes;

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

/// <summary>
/// A lifecycle outbox recorded with its plan before it runs, so a tick after a crash can create and finish it even if the
/// outbox blob was never written.
/// </summary>
/// <param name="Id">Outbox (subject) id, e.g. <c>move-autosave-A-B-…</c>, <c>rca-…</c>, <c>esc-…</c>, <c>daily-20261121</c>.</param>
/// <param name="Plan">The planned actions.</param>
public sealed record PendingOutbox(string Id, IReadOnlyList<OutboxAction> Plan);
