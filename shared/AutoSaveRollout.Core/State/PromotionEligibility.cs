using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Gates;

namespace AutoSaveRollout.Core.State;

/// <summary>What eligibility needs to know of one judged window: its start, the phase it was judged in and its status.</summary>
/// <param name="WindowStart">Window start (UTC), aligned to 15 minutes.</param>
/// <param name="Phase">Wire name of the phase the window was judged in (A, B, C, off).</param>
/// <param name="Status">Batch status: ok, warn, violation, inconclusive or off.</param>
public sealed record WindowOutcome(DateTimeOffset WindowStart, string Phase, DecisionStatus Status);

/// <summary>
/// A phase's promotion eligibility as of one window (written to <c>state/rollout.json</c> and the dashboard as
/// <c>promotion</c>). Progress and required are counted in compliant 15-minute windows.
/// </summary>
public sealed record PromotionStatus
{
    /// <summary>Phase in effect that would be promoted: A, B or C.</summary>
    public required string Phase { get; init; }
    /// <summary>B (from A), C (from B) or <c>complete</c> (C signed off).</summary>
    public required string Target { get; init; }
    /// <summary>True once the streak reached <see cref="Required"/>.</summary>
    public required bool Eligible { get; init; }
    /// <summary>Compliant windows in the current streak, capped at <see cref="Required"/>.</summary>
    public required int Progress { get; init; }
    /// <summary>Compliant windows the rule requires (<c>after_windows</c>, or <c>after_hours</c> × 4).</summary>
    public required int Required { get; init; }
    /// <summary>
    /// Start of the first counted compliant window: the streak's first compliant window while the streak is at most
    /// <see cref="Required"/> long. Counting stops at <see cref="Required"/> (the read-back is bounded), so for a longer
    /// streak it is the first of its latest <see cref="Required"/> compliant windows: "compliant for at least the required
    /// windows since". Null when <see cref="Progress"/> is 0.
    /// </summary>
    public DateTimeOffset? Since { get; init; }
    /// <summary>Roles that must approve the promotion, e.g. <c>["sre", "dev_lead"]</c>.</summary>
    public required IReadOnlyList<string> Approvers { get; init; }
    /// <summary>Latest window taken into account.</summary>
    public DateTimeOffset? AsOfWindowStart { get; init; }
    /// <summary>
    /// True only for the window whose compliant status completed the streak (progress reached required at that window and
    /// not before): the one window that announces eligibility.
    /// </summary>
    public bool BecameEligible { get; init; }
    /// <summary>True when the read-back limit was reached before the streak's start was found (nothing is announced then).</summary>
    public bool Truncated { get; init; }
}

/// <summary>
/// Promotion eligibility (issue "Phase lifecycle", design section 1), pure. Walking back from the newest window of the
/// phase's segment: <c>ok</c> and <c>warn</c> windows extend the streak; <c>inconclusive</c> windows are skipped (neither
/// advance nor reset); anything else (<c>violation</c>, <c>off</c>), a window judged in another phase (a phase change) or a
/// missing window (a gap in the 15-minute sequence, or the start of the history) ends it. Hours of compliance are streak
/// windows × 15 min. "No critical alert" (B) and "no incident" (C) are met by construction: every violation resets the
/// streak (and steps the phase back), so a streak never contains one.
/// </summary>
public static class PromotionEligibility
{
    /// <summary>Window length.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(PromotionRule.WindowMinutes);

    /// <summary>Inconclusive windows a read-back may skip beyond the required ones: 96 (24 h).</summary>
    public const int InconclusiveAllowance = 96;

    /// <summary>
    /// Most windows to read back (the current one included): <paramref name="required"/> + 1 compliant windows (to tell
    /// "just became eligible" from "already was") plus <see cref="InconclusiveAllowance"/>. A = 105, B = 193, C = 385.
    /// </summary>
    public static int LookbackLimit(int required) => required + 1 + InconclusiveAllowance;

    /// <summary>What phase <paramref name="phase"/> is promoted to: B, C or <c>complete</c>; null for off.</summary>
    public static string? TargetOf(Phase phase) => phase switch
    {
        Phase.A => "B",
        Phase.B => "C",
        Phase.C => "complete",
        _ => null,
    };

    /// <summary>
    /// Eligibility of <paramref name="phase"/> under <paramref name="rule"/> given the judged windows
    /// <paramref name="history"/>, oldest first, ending with the newest window taken into account (only the last
    /// <see cref="LookbackLimit"/> entries are read). A caller reading back stops at the first missing window; running out of
    /// entries before the limit therefore ends the streak, while reaching the limit sets <see cref="PromotionStatus.Truncated"/>.
    /// An empty history gives progress 0 (e.g. the first window after a phase change). Returns null for phase off.
    /// Throws <see cref="ArgumentException"/> when <paramref name="history"/> is not in strictly increasing window order.
    /// </summary>
    public static PromotionStatus? Evaluate(Phase phase, PromotionRule rule, IReadOnlyList<WindowOutcome> history)
    {
        ArgumentNullException.ThrowIfNull(rule);
        ArgumentNullException.ThrowIfNull(history);
        if (TargetOf(phase) is not { } target) return null;
        var required = rule.RequiredWindows;
        var limit = LookbackLimit(required);
        var wire = phase.ToWire();

        var count = 0;
        DateTimeOffset? since = null;
        var ended = false;
        var examined = 0;
        for (var i = history.Count - 1; i >= 0 && examined < limit; i--, examined++)
        {
            var o = history[i];
            if (i > 0 && history[i - 1].WindowStart >= o.WindowStart)
                throw new ArgumentException("history must be in strictly increasing window order", nameof(history));
            if (i < history.Count - 1 && history[i + 1].WindowStart - o.WindowStart != Window)
            {
                ended = true; // a missing window breaks continuity
                break;
            }
            if (o.Phase != wire)
            {
                ended = true; // phase change: a new segment
                break;
            }
            if (o.Status == DecisionStatus.Inconclusive) continue;
            if (!o.Status.IsClean)
            {
                ended = true; // violation, off or anything unknown
                break;
            }
            count++;
            if (count > required) break; // already eligible before the newest window
            since = o.WindowStart;
        }
        if (!ended && examined < limit && count <= required) ended = true; // history exhausted: start of data or a gap
        var truncated = !ended && count <= required;

        var newest = history.Count > 0 ? history[^1] : null;
        return new PromotionStatus
        {
            Phase = wire,
            Target = target,
            Eligible = count >= required,
            Progress = Math.Min(count, required),
            Required = required,
            Since = since,
            Approvers = ApproverRoleNames.Names(rule.Approvers),
            AsOfWindowStart = newest?.WindowStart,
            BecameEligible = newest is { Status.IsClean: true } && newest.Phase == wire && count == required && !truncated,
            Truncated = truncated,
        };
    }
}
