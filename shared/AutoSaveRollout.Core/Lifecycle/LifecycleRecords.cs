using System.Text.Json.Serialization;
using AutoSaveRollout.Core.Values;
using AutoSaveRollout.Core.Outboxes;
namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>The type of an <see cref="AuditEntry"/> (string-backed).</summary>
[JsonConverter(typeof(StringValueJsonConverter<AuditEntryType>))]
public readonly record struct AuditEntryType : IStringValue<AuditEntryType>
{
    private AuditEntryType(string? value) => Value = value;

    /// <inheritdoc/>
    public string? Value { get; }

    /// <summary>A role approved the next move (<c>approve</c>): <c>approval</c>.</summary>
    public static AuditEntryType Approval { get; } = new("approval");
    /// <summary>Pending approvals were voided by a violation or a step back (they no longer count): <c>approvals_voided</c>.</summary>
    public static AuditEntryType ApprovalsVoided { get; } = new("approvals_voided");
    /// <summary>An eligible, approved move was blocked by failed evidence checks (reasons listed): <c>move_blocked</c>.</summary>
    public static AuditEntryType MoveBlocked { get; } = new("move_blocked");
    /// <summary>The phase moved one forward (or C was signed off as complete): <c>phase_moved</c>.</summary>
    public static AuditEntryType PhaseMoved { get; } = new("phase_moved");
    /// <summary>The phase stepped back one because an RCA was overdue: <c>phase_stepped_back</c>.</summary>
    public static AuditEntryType PhaseSteppedBack { get; } = new("phase_stepped_back");
    /// <summary>A collector retry failure was reviewed: cause identified, prevention task filed (<c>review-failure</c>): <c>retry_failure_reviewed</c>.</summary>
    public static AuditEntryType RetryFailureReviewed { get; } = new("retry_failure_reviewed");
    /// <summary>Governance waived the acknowledgement check of one incident, with a reason (<c>waive</c>): <c>evidence_waived</c>.</summary>
    public static AuditEntryType EvidenceWaived { get; } = new("evidence_waived");

    /// <inheritdoc/>
    public static AuditEntryType From(string? value) => new(value);

    /// <summary>Any string is a type (entries of unknown types are kept and ignored).</summary>
    public static implicit operator AuditEntryType(string? value) => new(value);

    /// <inheritdoc/>
    public override string ToString() => Value ?? "";
}

/// <summary>
/// One line of the append-only governance audit log (<c>reports/governance/audit.jsonl</c>). Fields not relevant to a
/// <see cref="Type"/> are null. Times are UTC.
/// </summary>
public sealed record AuditEntry
{
    /// <summary>Unique id, e.g. <c>apr-20261121T101500000Z-sre</c> (<c>…-sre-2</c> for a second approval of the role in the same millisecond), <c>move-autosave-A-B-…</c>; lines are never appended twice with one id.</summary>
    public required string Id { get; init; }
    /// <summary>What the entry records.</summary>
    public required AuditEntryType Type { get; init; }
    /// <summary>When it was recorded.</summary>
    public required DateTimeOffset At { get; init; }
    /// <summary>Feature flag.</summary>
    public required string Flag { get; init; }
    /// <summary>Phase in effect when recorded (A, B, C, off).</summary>
    public string? Phase { get; init; }
    /// <summary>Move target (B, C, complete) or, for a step back, the phase stepped back to.</summary>
    public string? Target { get; init; }
    /// <summary>Approver role (sre, dev_lead, governance).</summary>
    public string? Role { get; init; }
    /// <summary>Who approved, reviewed or waived.</summary>
    public string? Actor { get; init; }
    /// <summary>Evidence link given with an approval (absolute http(s) URL).</summary>
    public string? Evidence { get; init; }
    /// <summary>Start of the phase segment the entry belongs to (approvals count only in their own segment).</summary>
    public DateTimeOffset? PhaseSince { get; init; }
    /// <summary>SHA-256 of the policy file in force.</summary>
    public required string PolicySha256 { get; init; }
    /// <summary>Approval ids consumed by a move or voided.</summary>
    public IReadOnlyList<string>? Approvals { get; init; }
    /// <summary>Why a move was blocked (one sentence per failed check).</summary>
    public IReadOnlyList<string>? Reasons { get; init; }
    /// <summary>Incident ids concerned (step back, waiver).</summary>
    public IReadOnlyList<string>? Incidents { get; init; }
    /// <summary>Decision or step-back id that caused a voiding.</summary>
    public string? Cause { get; init; }
    /// <summary>Window start of a reviewed retry failure.</summary>
    public DateTimeOffset? WindowStart { get; init; }
    /// <summary>Free text: a review's failure cause and prevention task, or a waiver's reason.</summary>
    public string? Note { get; init; }
    /// <summary>Link to the prevention task (review) or other reference.</summary>
    public string? Link { get; init; }
    /// <summary>Waived check name (<c>pagerduty_ack</c>).</summary>
    public string? Check { get; init; }
}

/// <summary>Kinds of incident in the ledger.</summary>
public static class IncidentKinds
{
    /// <summary>An SLO violation (the decision's PagerDuty trigger).</summary>
    public const string SloViolation = "slo_violation";
    /// <summary>The Collector gave up on a window.</summary>
    public const string CollectorRetryExhausted = "collector.retry_exhausted";
}

/// <summary>One PagerDuty incident the pipeline triggered, with what the lifecycle learned about it. Times are UTC.</summary>
public sealed record IncidentRecord
{
    /// <summary>Our id: the decision id (violation) or the collector incident id.</summary>
    public required string Id { get; init; }
    /// <summary>Events v2 <c>dedup_key</c> (= REST <c>incident_key</c>).</summary>
    public required string DedupKey { get; init; }
    /// <summary>An <see cref="IncidentKinds"/> value.</summary>
    public required string Kind { get; init; }
    /// <summary>Phase the incident was raised in.</summary>
    public required string Phase { get; init; }
    /// <summary>Window concerned.</summary>
    public required DateTimeOffset WindowStart { get; init; }
    /// <summary>When our trigger was accepted by PagerDuty (or recorded, in dry-run).</summary>
    public required DateTimeOffset TriggeredAt { get; init; }
    /// <summary>Violated metrics (comma-separated) or <c>collector.retry_exhausted</c>.</summary>
    public required string Metric { get; init; }
    /// <summary>The manual rollback command of the incident (or the "none" text of a collector incident).</summary>
    public required string Command { get; init; }
    /// <summary>Recorded in dry-run: nothing was sent, nothing is polled or escalated.</summary>
    public bool DryRun { get; init; }
    /// <summary>PagerDuty incident id once found.</summary>
    public string? PagerDutyId { get; init; }
    /// <summary>PagerDuty incident number once found.</summary>
    public int? PagerDutyNumber { get; init; }
    /// <summary>PagerDuty status when last checked.</summary>
    public string? PagerDutyStatus { get; init; }
    /// <summary>When PagerDuty opened the incident (the acknowledgement clock starts here).</summary>
    public DateTimeOffset? PagerDutyCreatedAt { get; init; }
    /// <summary>First acknowledgement (or resolution without one).</summary>
    public DateTimeOffset? RespondedAt { get; init; }
    /// <summary>When it was escalated (priority raised, re-posted); null if never.</summary>
    public DateTimeOffset? EscalatedAt { get; init; }
    /// <summary>RCA blob naming the incident, once found.</summary>
    public string? RcaPath { get; init; }
    /// <summary>When the RCA was found.</summary>
    public DateTimeOffset? RcaFoundAt { get; init; }
    /// <summary>When the RCA deadline passed and the phase stepped back for it.</summary>
    public DateTimeOffset? RcaOverdueAt { get; init; }
    /// <summary>The step back taken for the overdue RCA.</summary>
    public string? StepBackId { get; init; }
    /// <summary>Last PagerDuty lookup error (secret-free), if the last check failed.</summary>
    public string? LastCheckError { get; init; }

    /// <summary>How messages and reasons name the incident: <c>{id} (PagerDuty #{number})</c>, or the id alone.</summary>
    public string Label() => PagerDutyNumber is { } n ? $"{Id} (PagerDuty #{n.ToString(System.Globalization.CultureInfo.InvariantCulture)})" : Id;

    /// <summary>This incident with what a PagerDuty REST lookup found: its id, number, status, opening and response times.</summary>
    public IncidentRecord Observed(AutoSaveRollout.Core.Ports.PagerDutyIncident found) => this with
    {
        PagerDutyId = found.Id, PagerDutyNumber = found.IncidentNumber ?? PagerDutyNumber, PagerDutyStatus = found.Status,
        PagerDutyCreatedAt = found.CreatedAt, RespondedAt = found.RespondedAt,
    };

    /// <summary>The ids an RCA may name to cover this incident: ours, the dedup key, the PagerDuty id and number.</summary>
    public IEnumerable<string> Names()
    {
        yield return Id;
        yield return DedupKey;
        if (PagerDutyId is { Length: > 0 } pd) yield return pd;
        if (PagerDutyNumber is { } n) yield return "#" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }
}

/// <summary>The incident ledger (<c>state/incidents.json</c>).</summary>
public sealed record IncidentLedger
{
    /// <summary>Every incident, oldest first.</summary>
    public IReadOnlyList<IncidentRecord> Incidents { get; init; } = [];

    /// <summary>This ledger with the incident of <paramref name="incident"/>'s id replaced by it.</summary>
    public IncidentLedger Replace(IncidentRecord incident) =>
        this with { Incidents = Incidents.Select(i => i.Id == incident.Id ? incident : i).ToList() };
}

/// <summary>Lifecycle bookkeeping (<c>state/lifecycle.json</c>).</summary>
public sealed record LifecycleProgress
{
    /// <summary>Lifecycle outboxes (escalations, blocked-move posts, daily reports, and an unfinished transition a newer one displaced from the rollout state) with actions still to complete; every tick resumes them.</summary>
    public IReadOnlyList<PendingOutbox> PendingOutboxes { get; init; } = [];
    /// <summary>Key (phase segment + reasons) of the last blocked move announced, so one block is posted once.</summary>
    public string? LastBlockKey { get; init; }
    /// <summary>Reasons of the latest blocked move (cleared by a move or a new segment).</summary>
    public IReadOnlyList<string>? LastBlockReasons { get; init; }
    /// <summary>The latest day whose phase C daily report was sent.</summary>
    public DateOnly? LastDailyReport { get; init; }
}

/// <summary>A request the lifecycle refuses (bad approval, unknown window or incident). The message says what to do instead.</summary>
public sealed class LifecycleException(string message) : Exception(message);

/// <summary>An approval as given on the command line.</summary>
/// <param name="Target">The move approved: B, C or <c>complete</c>.</param>
/// <param name="Role">sre, dev_lead or governance.</param>
/// <param name="Approver">Who approves (name or e-mail), 1–100 characters, no control characters.</param>
/// <param name="Evidence">Optional absolute http(s) link to the evidence (PR comment, checklist), without credentials.</param>
public sealed record ApprovalRequest(string Target, string Role, string Approver, string? Evidence);

/// <summary>Where the next move stands.</summary>
public enum MoveOutcome
{
    /// <summary>No move possible: phase off, rollout complete, no state yet, or another tick holds the lifecycle lock.</summary>
    None,
    /// <summary>The phase is not (yet) eligible.</summary>
    NotEligible,
    /// <summary>Eligible, but required roles have not approved in this phase.</summary>
    AwaitingApprovals,
    /// <summary>Eligible and approved, but evidence checks failed (<see cref="MoveAttempt.Reasons"/>).</summary>
    Blocked,
    /// <summary>The phase moved (or the rollout completed).</summary>
    Moved,
    /// <summary>Everything holds: the next tick moves the phase (only from <see cref="LifecycleService.PreviewMoveAsync"/>).</summary>
    Ready,
}

/// <summary>Result of one attempt at the next move.</summary>
/// <param name="Outcome">Where it stands.</param>
/// <param name="Phase">Phase in effect before the attempt.</param>
/// <param name="Target">B, C or complete; null when none.</param>
/// <param name="MissingRoles">Required roles without an approval in this phase.</param>
/// <param name="Reasons">Failed evidence checks (Blocked).</param>
/// <param name="MoveId">The move's id (Moved).</param>
public sealed record MoveAttempt(MoveOutcome Outcome, string? Phase, string? Target, IReadOnlyList<string> MissingRoles, IReadOnlyList<string> Reasons,
    string? MoveId = null);
