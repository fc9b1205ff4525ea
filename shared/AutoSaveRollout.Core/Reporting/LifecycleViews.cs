namespace AutoSaveRollout.Core.Reporting;

/// <summary>An approval as shown by <c>status</c> and on the dashboard.</summary>
/// <param name="Id">Audit entry id.</param>
/// <param name="Role">Role.</param>
/// <param name="Approver">Who.</param>
/// <param name="At">When (UTC).</param>
/// <param name="Evidence">Evidence link, if given.</param>
public sealed record ApprovalView(string Id, string Role, string Approver, DateTimeOffset At, string? Evidence);

/// <summary>An incident as shown by <c>status</c> and on the dashboard.</summary>
/// <param name="Id">Our incident id.</param>
/// <param name="Phase">Phase raised in.</param>
/// <param name="TriggeredAt">Trigger time (UTC).</param>
/// <param name="PagerDuty">PagerDuty id and number when known, e.g. <c>PT4KHLK #42</c>.</param>
/// <param name="RespondedAt">First acknowledgement (UTC), if known.</param>
/// <param name="EscalatedAt">Escalation time (UTC), if escalated.</param>
/// <param name="RcaPath">RCA found, if any.</param>
/// <param name="RcaDueAt">When the RCA is due (UTC).</param>
/// <param name="RcaOverdue">True once the deadline passed without an RCA (the phase stepped back for it).</param>
/// <param name="DryRun">Recorded in dry-run: nobody was paged, so there is no acknowledgement to wait for.</param>
public sealed record IncidentView(string Id, string Phase, DateTimeOffset TriggeredAt, string? PagerDuty, DateTimeOffset? RespondedAt,
    DateTimeOffset? EscalatedAt, string? RcaPath, DateTimeOffset RcaDueAt, bool RcaOverdue, bool DryRun = false);

/// <summary>The lifecycle as <c>status</c> and the dashboard (<c>lifecycle</c>) show it.</summary>
public sealed record LifecycleView
{
    /// <summary>Phase in effect.</summary>
    public required string Phase { get; init; }
    /// <summary>When the phase began (UTC).</summary>
    public DateTimeOffset? PhaseSince { get; init; }
    /// <summary>Next move: B, C or complete; null in off or when complete.</summary>
    public string? Target { get; init; }
    /// <summary>When the rollout was signed off complete (UTC).</summary>
    public DateTimeOffset? CompletedAt { get; init; }
    /// <summary>Roles the next move needs.</summary>
    public required IReadOnlyList<string> RequiredRoles { get; init; }
    /// <summary>Approvals given in this phase (pending).</summary>
    public required IReadOnlyList<ApprovalView> Approvals { get; init; }
    /// <summary>Required roles still missing.</summary>
    public required IReadOnlyList<string> MissingRoles { get; init; }
    /// <summary>Reasons the latest attempted move was blocked; null when none is blocked.</summary>
    public IReadOnlyList<string>? BlockedReasons { get; init; }
    /// <summary>Incidents not yet closed out (no RCA yet), oldest first.</summary>
    public required IReadOnlyList<IncidentView> OpenIncidents { get; init; }
    /// <summary>The Collector runs every 5 minutes until this time (UTC) after a rollback; null otherwise.</summary>
    public DateTimeOffset? FastCollectionUntil { get; init; }
}
