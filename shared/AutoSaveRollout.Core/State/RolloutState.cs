using AutoSaveRollout.Core.Outboxes;
namespace AutoSaveRollout.Core.State;

/// <summary>Rollout state (<see cref="Storage.StorePaths.RolloutState"/>), written with optimistic concurrency.</summary>
public sealed record RolloutState
{
    /// <summary>Phase in effect for the next window: A, B, C or off.</summary>
    public required string Phase { get; init; }
    /// <summary>True from a rollback until one clean (ok or warn) window after it.</summary>
    public bool RollbackActive { get; init; }
    /// <summary>Decision that caused the active rollback, if any.</summary>
    public string? RollbackDecisionId { get; init; }
    /// <summary>Window of the active rollback's decision.</summary>
    public DateTimeOffset? RollbackWindowStart { get; init; }
    /// <summary>Latest window whose decision has been applied to <see cref="Phase"/>.</summary>
    public DateTimeOffset? LastDecidedWindowStart { get; init; }
    /// <summary>Promotion eligibility of the phase in effect as of the latest reported window (null in off or before any report).</summary>
    public PromotionStatus? Promotion { get; init; }
    /// <summary>
    /// When the phase in effect began (UTC): the first state, a promotion, or a step back. Approvals count only when given
    /// in this phase segment (<c>phase_since</c> of the approval equals it); null for states written before the lifecycle
    /// (treated as the beginning of time).
    /// </summary>
    public DateTimeOffset? PhaseSince { get; init; }
    /// <summary>When the latest promotion (phase move forward) happened (UTC); evidence checks cover everything since. Null before the first.</summary>
    public DateTimeOffset? LastMoveAt { get; init; }
    /// <summary>When the latest rollback (automatic, manual through the pipeline, or <c>rca_overdue</c>) happened (UTC); drives the 5-minute collector cadence.</summary>
    public DateTimeOffset? LastRollbackAt { get; init; }
    /// <summary>
    /// The outbox of the latest lifecycle transition (promotion or <c>rca_overdue</c> step back), written in the same
    /// compare-and-swap as the phase change and cleared once its actions are done: a tick after a crash finishes it.
    /// </summary>
    public PendingOutbox? Transition { get; init; }
    /// <summary>When Governance's sign-off completed the rollout (phase C, <c>complete</c>); null while not complete. A step back clears it.</summary>
    public DateTimeOffset? CompletedAt { get; init; }
    /// <summary>Last update (UTC).</summary>
    public DateTimeOffset UpdatedAt { get; init; }
}
