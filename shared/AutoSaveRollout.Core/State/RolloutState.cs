using System.Text.Json.Serialization;
using AutoSaveRollout.Core.Outboxes;

namespace AutoSaveRollout.Core.State;

/// <summary>
/// Rollout state (<see cref="Storage.StorePaths.RolloutState"/>), written with optimistic concurrency. The one model of
/// the rollout: every change goes through a transition method below (each returns the new state, or the same instance
/// when it refuses or has nothing to do), so what a step back, a move, a sign-off or clearing <c>rollback_active</c> does
/// is written in one place. The setters are private; JSON reads them through <see cref="JsonIncludeAttribute"/>.
/// <para>Transitions and their writers:</para>
/// <list type="table">
/// <item><term><see cref="Start"/></term><description>first state (replay, or the first window judged).</description></item>
/// <item><term><see cref="ApplyDecision"/></term><description>Analyzer: a judged window; a violation steps back one phase.</description></item>
/// <item><term><see cref="WithPromotionAsOf"/></term><description>Reporter: promotion eligibility as of a reported window.</description></item>
/// <item><term><see cref="RollbackCalled"/></term><description>Reporter: the flag service accepted a violation's rollback.</description></item>
/// <item><term><see cref="ClearRollbackActive"/></term><description>Reporter: a clean window after the rollback.</description></item>
/// <item><term><see cref="Move"/></term><description>Lifecycle: an approved promotion, one phase forward, or the C sign-off.</description></item>
/// <item><term><see cref="StepBackForOverdueRca"/></term><description>Lifecycle: an RCA is overdue.</description></item>
/// <item><term><see cref="TransitionDone"/></term><description>Lifecycle: the transition's outbox completed.</description></item>
/// <item><term><see cref="ManualRollback"/></term><description><c>rollback</c> command.</description></item>
/// <item><term><see cref="RequestFlagChange"/>, <see cref="FlagChangeFailed"/>, <see cref="ConfirmFlagChange"/></term><description>a flag-service change pending until the service confirms it.</description></item>
/// </list>
/// </summary>
public sealed record RolloutState
{
    /// <summary>Phase in effect for the next window: A, B, C or off.</summary>
    [JsonInclude] public string Phase { get; private init; } = "off";
    /// <summary>True from a rollback until one clean (ok or warn) window after it.</summary>
    [JsonInclude] public bool RollbackActive { get; private init; }
    /// <summary>Decision that caused the active rollback, if any.</summary>
    [JsonInclude] public string? RollbackDecisionId { get; private init; }
    /// <summary>Window of the active rollback's decision.</summary>
    [JsonInclude] public DateTimeOffset? RollbackWindowStart { get; private init; }
    /// <summary>Latest window whose decision has been applied to <see cref="Phase"/>.</summary>
    [JsonInclude] public DateTimeOffset? LastDecidedWindowStart { get; private init; }
    /// <summary>Promotion eligibility of the phase in effect as of the latest reported window (null in off or before any report).</summary>
    [JsonInclude] public PromotionStatus? Promotion { get; private init; }
    /// <summary>
    /// When the phase in effect began (UTC): the first state, a promotion, or a step back. Approvals count only when given
    /// in this phase segment (<c>phase_since</c> of the approval equals it); null for states written before the lifecycle
    /// (treated as the beginning of time).
    /// </summary>
    [JsonInclude] public DateTimeOffset? PhaseSince { get; private init; }
    /// <summary>When the latest promotion (phase move forward) happened (UTC); evidence checks cover everything since. Null before the first.</summary>
    [JsonInclude] public DateTimeOffset? LastMoveAt { get; private init; }
    /// <summary>When the latest rollback (automatic, manual through the pipeline, or <c>rca_overdue</c>) happened (UTC); drives the 5-minute collector cadence.</summary>
    [JsonInclude] public DateTimeOffset? LastRollbackAt { get; private init; }
    /// <summary>
    /// The outbox of the latest lifecycle transition (promotion or <c>rca_overdue</c> step back), written in the same
    /// compare-and-swap as the phase change and cleared once its actions are done: a tick after a crash finishes it.
    /// </summary>
    [JsonInclude] public PendingOutbox? Transition { get; private init; }
    /// <summary>When Governance's sign-off completed the rollout (phase C, <c>complete</c>); null while not complete. A step back clears it.</summary>
    [JsonInclude] public DateTimeOffset? CompletedAt { get; private init; }
    /// <summary>Last update (UTC).</summary>
    [JsonInclude] public DateTimeOffset UpdatedAt { get; private init; }
    /// <summary>A flag-service change requested and not yet confirmed (null when none; omitted from the JSON then).</summary>
    [JsonInclude, JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public PendingFlagChange? PendingFlagChange { get; private init; }
    /// <summary>The latest <c>rollback --force</c>: who overrode which check, and why (null when never; omitted from the JSON then).</summary>
    [JsonInclude, JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public ForcedRollback? LastForcedRollback { get; private init; }

    /// <summary>True when <see cref="Phase"/> is A, B or C and the rollout is not signed off.</summary>
    [JsonIgnore] public bool IsActive => Phase is "A" or "B" or "C" && CompletedAt is null;

    // ------------------------------------------------------------------ creation

    /// <summary>The first state: <paramref name="phase"/> in effect since <paramref name="now"/>.</summary>
    public static RolloutState Start(string phase, DateTimeOffset now) => new() { Phase = phase, PhaseSince = now, UpdatedAt = now };

    /// <summary>
    /// A state the Reporter creates when a report arrives before any state exists (only in tests and tools that report
    /// without analysing): <paramref name="phase"/>, no phase segment start, no update time.
    /// </summary>
    public static RolloutState Unstarted(string phase) => new() { Phase = phase };

    // ------------------------------------------------------------------ Analyzer

    /// <summary>
    /// Applies the decision of the window starting at <paramref name="windowStart"/>, judged in <paramref name="judgedPhase"/>,
    /// exactly once per window (a window at or before <see cref="LastDecidedWindowStart"/> is refused: same instance back).
    /// <paramref name="stepBackTo"/> non-null (a violation) moves the phase there when it is still <paramref name="judgedPhase"/>;
    /// a phase change starts a new phase segment (<see cref="PhaseSince"/> = <paramref name="now"/>) and undoes a sign-off.
    /// <paramref name="current"/> null: the state starts in <paramref name="judgedPhase"/>.
    /// </summary>
    public static RolloutState ApplyDecision(RolloutState? current, DateTimeOffset windowStart, string judgedPhase, string? stepBackTo, DateTimeOffset now)
    {
        if (current?.LastDecidedWindowStart is { } last && last >= windowStart) return current;
        var phase = stepBackTo is not null && (current is null || current.Phase == judgedPhase) ? stepBackTo : current?.Phase ?? judgedPhase;
        var same = current is not null && phase == current.Phase;
        return (current ?? Start(judgedPhase, now)) with
        {
            Phase = phase,
            PhaseSince = same ? current!.PhaseSince : now,
            CompletedAt = same ? current!.CompletedAt : null,
            LastDecidedWindowStart = windowStart,
            UpdatedAt = now,
        };
    }

    // ------------------------------------------------------------------ Reporter

    /// <summary>
    /// Records <paramref name="promotion"/> as the eligibility as of the window starting at <paramref name="windowStart"/>,
    /// unless the state already holds one as of that window or a later one (reports may arrive out of order).
    /// </summary>
    public RolloutState WithPromotionAsOf(PromotionStatus? promotion, DateTimeOffset windowStart) =>
        (Promotion?.AsOfWindowStart is not { } asOf || asOf < windowStart) && (Promotion ?? promotion) is not null
            ? this with { Promotion = promotion }
            : this;

    /// <summary>
    /// The flag service accepted the rollback of decision <paramref name="decisionId"/> (window <paramref name="windowStart"/>)
    /// at <paramref name="calledAt"/>: <see cref="RollbackActive"/> until a clean window. Refused (same instance) when this
    /// decision is already the active rollback or a later window's rollback is.
    /// </summary>
    public RolloutState RollbackCalled(string decisionId, DateTimeOffset windowStart, DateTimeOffset calledAt, DateTimeOffset now) =>
        RollbackDecisionId != decisionId && (RollbackWindowStart is null || RollbackWindowStart <= windowStart)
            ? this with
            {
                RollbackActive = true, RollbackDecisionId = decisionId, RollbackWindowStart = windowStart, LastRollbackAt = calledAt, UpdatedAt = now,
            }
            : this;

    /// <summary>A clean (ok or warn) window starting at <paramref name="windowStart"/>, after the active rollback's window, clears <see cref="RollbackActive"/>; otherwise the same instance.</summary>
    public RolloutState ClearRollbackActive(DateTimeOffset windowStart, DateTimeOffset now) =>
        RollbackActive && RollbackWindowStart < windowStart ? this with { RollbackActive = false, UpdatedAt = now } : this;

    // ------------------------------------------------------------------ Lifecycle

    /// <summary>
    /// The approved move from the phase segment (<paramref name="seenPhase"/>, <paramref name="seenSince"/>) to
    /// <paramref name="target"/> (one phase forward, or <c>complete</c> in C: the sign-off, which keeps phase C) with its
    /// outbox <paramref name="transition"/> and the new phase's empty <paramref name="promotion"/>. Refused (same instance)
    /// when the phase segment changed meanwhile or the rollout is complete.
    /// </summary>
    public RolloutState Move(string seenPhase, DateTimeOffset? seenSince, string target, PendingOutbox transition, PromotionStatus? promotion, DateTimeOffset now)
    {
        if (Phase != seenPhase || PhaseSince != seenSince || CompletedAt is not null) return this;
        if (target == "complete") return this with { CompletedAt = now, LastMoveAt = now, UpdatedAt = now, Transition = transition };
        return this with
        {
            Phase = target, PhaseSince = now, LastMoveAt = now, UpdatedAt = now, Transition = transition, Promotion = promotion,
        };
    }

    /// <summary>
    /// An overdue RCA steps the phase back to <paramref name="to"/> (step <paramref name="stepId"/>, outbox
    /// <paramref name="transition"/>, the new phase's empty <paramref name="promotion"/>): a rollback like an automatic one.
    /// When <paramref name="to"/> is the phase in effect (already off) only the outbox is recorded.
    /// </summary>
    public RolloutState StepBackForOverdueRca(string stepId, string to, PendingOutbox transition, PromotionStatus? promotion, DateTimeOffset now) =>
        to == Phase
            ? this with { Transition = transition, UpdatedAt = now }
            : this with
            {
                Phase = to, PhaseSince = now, RollbackActive = true, RollbackDecisionId = stepId, RollbackWindowStart = LastDecidedWindowStart,
                LastRollbackAt = now, CompletedAt = null, UpdatedAt = now, Transition = transition, Promotion = promotion,
            };

    /// <summary>Clears <see cref="Transition"/> once the outbox <paramref name="transitionId"/> completed (a newer transition is left alone).</summary>
    public RolloutState TransitionDone(string transitionId) => Transition?.Id == transitionId ? this with { Transition = null } : this;

    // ------------------------------------------------------------------ manual rollback

    /// <summary>
    /// The <c>rollback</c> command stepped the flag from <paramref name="from"/> to <paramref name="to"/> (decision
    /// <paramref name="decisionId"/>): a new phase segment with <see cref="RollbackActive"/>. <paramref name="current"/> null:
    /// the state starts there. Refused (same instance) when the phase in effect is not <paramref name="from"/>.
    /// </summary>
    /// <remarks>
    /// <paramref name="forced"/> (<c>rollback --force --reason</c>): the operator overrode the command's checks. It is
    /// recorded as <see cref="LastForcedRollback"/>; the step is applied whatever the phase in effect, unless it was for
    /// another flag than the policy's (<see cref="ForcedRollback.OtherFlag"/>), which leaves this rollout's phase as it is.
    /// </remarks>
    public static RolloutState ManualRollback(RolloutState? current, string from, string to, string decisionId, DateTimeOffset now,
        ForcedRollback? forced = null)
    {
        if (forced is not null)
        {
            var recorded = (current ?? Unstarted(from)) with { LastForcedRollback = forced, UpdatedAt = now };
            if (forced.OtherFlag) return recorded;
            current = recorded;
        }
        else if (current is not null && current.Phase != from) return current;
        return (current ?? Unstarted(from)) with
        {
            Phase = to, PhaseSince = now, RollbackActive = true, RollbackDecisionId = decisionId,
            RollbackWindowStart = current?.LastDecidedWindowStart, LastRollbackAt = now, CompletedAt = null, UpdatedAt = now,
        };
    }

    // ------------------------------------------------------------------ pending flag-service change

    /// <summary>
    /// Records a requested flag-service change (<paramref name="change"/>): the phase stays as it is until
    /// <see cref="ConfirmFlagChange"/>. Refused (same instance) when a change is already pending or the change does not
    /// start from the phase in effect.
    /// </summary>
    public RolloutState RequestFlagChange(PendingFlagChange change, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(change);
        return PendingFlagChange is null && change.From == Phase ? this with { PendingFlagChange = change, UpdatedAt = now } : this;
    }

    /// <summary>A failed attempt of the pending change <paramref name="changeId"/>: one more attempt, its (secret-free) error. Other ids: same instance.</summary>
    public RolloutState FlagChangeFailed(string changeId, string error, DateTimeOffset now) =>
        PendingFlagChange is { } p && p.Id == changeId
            ? this with { PendingFlagChange = p with { Attempts = p.Attempts + 1, LastError = error, LastAttemptAt = now }, UpdatedAt = now }
            : this;

    /// <summary>
    /// The flag service confirmed the pending change <paramref name="changeId"/>: the phase becomes its target (a new phase
    /// segment; a step back sets <see cref="RollbackActive"/> and <see cref="LastRollbackAt"/> and undoes a sign-off) and
    /// nothing is pending. Other ids: same instance.
    /// </summary>
    public RolloutState ConfirmFlagChange(string changeId, DateTimeOffset now)
    {
        if (PendingFlagChange is not { } p || p.Id != changeId) return this;
        var back = PhaseOrder(p.To) < PhaseOrder(p.From);
        return this with
        {
            Phase = p.To, PhaseSince = now, PendingFlagChange = null, UpdatedAt = now,
            RollbackActive = back || RollbackActive, RollbackDecisionId = back ? p.Id : RollbackDecisionId,
            RollbackWindowStart = back ? LastDecidedWindowStart : RollbackWindowStart,
            LastRollbackAt = back ? now : LastRollbackAt, LastMoveAt = back ? LastMoveAt : now, CompletedAt = null,
        };
    }

    private static int PhaseOrder(string phase) => phase switch { "A" => 1, "B" => 2, "C" => 3, _ => 0 };
}

/// <summary>A flag-service change requested and not yet confirmed by the service.</summary>
/// <param name="Id">Idempotency key of the request (decision id, move id, <c>rca-…</c>, manual decision id).</param>
/// <param name="From">Phase the flag is at (confirmed).</param>
/// <param name="To">Phase requested.</param>
/// <param name="Reason">Why: e.g. <c>p95_s violation</c>, <c>rca_overdue</c>, <c>promotion_approved</c>, a manual reason.</param>
/// <param name="RequestedAt">When first requested (UTC).</param>
public sealed record PendingFlagChange(string Id, string From, string To, string Reason, DateTimeOffset RequestedAt)
{
    /// <summary>Failed attempts so far.</summary>
    public int Attempts { get; init; }
    /// <summary>The last attempt's error, secret-free; null before any failure.</summary>
    public string? LastError { get; init; }
    /// <summary>When the last attempt failed (UTC).</summary>
    public DateTimeOffset? LastAttemptAt { get; init; }
}

/// <summary>
/// A manual rollback run with <c>--force</c>: the command's <paramref name="Flag"/>, <paramref name="From"/> and
/// <paramref name="To"/>, what it was checked against (<paramref name="PolicyFlag"/>, <paramref name="PhaseInEffect"/>, null
/// without a state), the operator's <paramref name="Reason"/>, <paramref name="Initiator"/>, the decision id and when (UTC).
/// </summary>
public sealed record ForcedRollback(string Flag, string From, string To, string PolicyFlag, string? PhaseInEffect, string Reason, string Initiator,
    string DecisionId, DateTimeOffset At)
{
    /// <summary>True when the rollback was for another flag than the policy's: this rollout's phase does not change.</summary>
    [JsonIgnore] public bool OtherFlag => !string.Equals(Flag, PolicyFlag, StringComparison.Ordinal);
}
