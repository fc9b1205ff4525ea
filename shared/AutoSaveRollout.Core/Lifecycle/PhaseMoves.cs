using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// The next move (design sections 6 and 9): when the phase is eligible as of the latest decided window and every required
/// role approved in this phase segment, the evidence checks run; a failure is announced once per distinct set of reasons
/// (<c>autosave-move-blocked</c>, <c>move_blocked</c>), a pass moves the phase one step forward (or signs C off) through
/// <see cref="RolloutState.Move"/>, with its outbox: the flag service's <c>POST /flags/{flag}/phase</c> and <c>autosave-promoted</c>.
/// </summary>
internal sealed class PhaseMoves(LifecycleContext context, LifecycleOutboxes outboxes, Func<EvidenceChecks> evidence)
{
    /// <summary>
    /// Attempts the next move; <paramref name="execute"/> false only previews it (<see cref="MoveOutcome.Ready"/>), announcing
    /// nothing. <paramref name="hypothetical"/>: approvals of a preview that are not recorded (<c>approve --dry-run</c>);
    /// they are counted only when previewing.
    /// </summary>
    public async Task<MoveAttempt> TryAsync(bool execute, CancellationToken ct, IReadOnlyList<AuditEntry>? hypothetical = null)
    {
        if (execute && hypothetical is { Count: > 0 }) throw new ArgumentException("unrecorded approvals never move the phase", nameof(hypothetical));
        var (state, _) = await context.State.ReadAsync(ct).ConfigureAwait(false);
        if (state is null || !PhaseExtensions.TryParse(state.Phase, out var phase) || phase == Phase.Off || state.CompletedAt is not null)
            return new MoveAttempt(MoveOutcome.None, state?.Phase, null, [], []);
        var target = PromotionEligibility.TargetOf(phase)!;
        var roles = ApproverRoleNames.Names(context.Policy.For(phase).Promotion.Approvers);
        var approvals = Approvals.OfSegment([.. await context.Audit.ReadAsync(ct).ConfigureAwait(false), .. hypothetical ?? []], state);
        var missing = roles.Where(r => approvals.All(a => a.Role != r)).ToList();

        // Eligible as of the latest decided window, in this phase (a decided-but-unreported window may change it).
        var p = state.Promotion;
        var eligible = p is { Eligible: true } && p.Phase == state.Phase && p.AsOfWindowStart is { } asOf
                       && (state.LastDecidedWindowStart is null || state.LastDecidedWindowStart <= asOf);
        if (!eligible) return new MoveAttempt(MoveOutcome.NotEligible, state.Phase, target, missing, []);
        if (missing.Count > 0) return new MoveAttempt(MoveOutcome.AwaitingApprovals, state.Phase, target, missing, []);

        var reasons = await evidence().RunAsync(state, ct).ConfigureAwait(false);
        if (reasons.Count > 0)
        {
            if (execute) await AnnounceBlockAsync(state, target, approvals, reasons, ct).ConfigureAwait(false);
            return new MoveAttempt(MoveOutcome.Blocked, state.Phase, target, [], reasons);
        }
        if (!execute) return new MoveAttempt(MoveOutcome.Ready, state.Phase, target, [], []);
        var moveId = await MoveAsync(state, phase, target, approvals, ct).ConfigureAwait(false);
        return moveId is null
            ? new MoveAttempt(MoveOutcome.None, state.Phase, target, [], [])
            : new MoveAttempt(MoveOutcome.Moved, state.Phase, target, [], [], moveId);
    }

    /// <summary>A blocked move's key starts with its phase segment; its reasons are shown only while that segment lasts.</summary>
    public static string BlockKeyPrefix(RolloutState s) => $"{s.Phase}|{Stamp(s.PhaseSince)}|";

    private static string Stamp(DateTimeOffset? t) =>
        t is { } v ? v.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture) : "start";

    private async Task AnnounceBlockAsync(RolloutState state, string target, IReadOnlyList<AuditEntry> approvals, IReadOnlyList<string> reasons, CancellationToken ct)
    {
        var key = BlockKeyPrefix(state) + string.Join("\n", reasons);
        var (progress, _) = await context.Progress.ReadAsync(ct).ConfigureAwait(false);
        if (progress?.LastBlockKey == key) return;
        var id = "blocked-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)))[..12];
        await context.Audit.AppendOnceAsync(new AuditEntry
        {
            Id = id, Type = AuditEntryType.MoveBlocked, At = context.Now, Flag = context.Policy.Flag, Phase = state.Phase, Target = target,
            PhaseSince = state.PhaseSince, Approvals = approvals.Select(a => a.Id).ToList(), Reasons = reasons, PolicySha256 = context.Policy.Sha256,
        }, ct).ConfigureAwait(false);
        var values = new Dictionary<string, string?> { ["phase"] = state.Phase, ["target"] = target, ["reasons"] = string.Join("; ", reasons) };
        var pending = new PendingOutbox(id, [outboxes.SlackAction(context.Policy.Channels.Ok, TemplateIds.MoveBlocked, values)]);
        await context.Progress.UpdateAsync(pr => (pr ?? new LifecycleProgress()) with
        {
            LastBlockKey = key, LastBlockReasons = reasons, PendingOutboxes = [.. (pr?.PendingOutboxes ?? []).Where(x => x.Id != id), pending],
        }, ct).ConfigureAwait(false);
        await outboxes.RunPendingAsync(pending, ct).ConfigureAwait(false);
        context.Log.LogWarning("move {Phase} → {Target} blocked: {Reasons}", state.Phase, target, string.Join("; ", reasons));
    }

    private async Task<string?> MoveAsync(RolloutState seen, Phase phase, string target, IReadOnlyList<AuditEntry> approvals, CancellationToken ct)
    {
        var policy = context.Policy;
        var moveId = $"move-{policy.Flag}-{seen.Phase}-{target}-{Stamp(seen.PhaseSince)}";
        var now = context.Now;
        var complete = target == "complete";
        var approvedBy = string.Join(",", approvals.Select(a => $"{a.Role}={a.Actor}"));
        var exposure = complete ? policy.For(Phase.C).ExposurePct : policy.For(PhaseExtensions.TryParse(target, out var t) ? t : phase).ExposurePct;
        var values = new Dictionary<string, string?>
        {
            ["phase"] = seen.Phase, ["target"] = target, ["exposure"] = exposure.ToString("0.##", CultureInfo.InvariantCulture),
            ["approvals"] = approvedBy, ["move_id"] = moveId,
        };
        var transition = new PendingOutbox(moveId,
        [
            new OutboxAction
            {
                Id = $"{ActionKind.FlagPhase}:{seen.Phase}->{target}", Kind = ActionKind.FlagPhase, Target = "flag-service", Template = TemplateIds.Promoted,
                Text = $"POST /flags/{policy.Flag}/phase {seen.Phase}->{target}", Status = ActionStatus.Pending, FromPhase = seen.Phase, ToPhase = target,
            },
            outboxes.SlackAction(policy.Channels.Ok, TemplateIds.Promoted, values),
        ]);
        var conflict = false;
        await outboxes.ParkTransitionAsync(moveId, ct).ConfigureAwait(false);
        await context.State.UpdateAsync(s =>
        {
            if (s is null)
            {
                conflict = true;
                return s!;
            }
            var promotion = !complete && PhaseExtensions.TryParse(target, out var next) ? PromotionEligibility.Evaluate(next, policy.For(next).Promotion, []) : null;
            var moved = s.Move(seen.Phase, seen.PhaseSince, target, transition, promotion, now);
            conflict = ReferenceEquals(moved, s);
            return moved;
        }, ct).ConfigureAwait(false);
        if (conflict)
        {
            context.Log.LogInformation("move {Phase} → {Target}: the rollout state changed meanwhile; trying again at the next tick", seen.Phase, target);
            return null;
        }

        await context.Audit.AppendOnceAsync(new AuditEntry
        {
            Id = moveId, Type = AuditEntryType.PhaseMoved, At = now, Flag = policy.Flag, Phase = seen.Phase, Target = target, PhaseSince = seen.PhaseSince,
            Approvals = approvals.Select(a => a.Id).ToList(), PolicySha256 = policy.Sha256,
        }, ct).ConfigureAwait(false);
        await context.Progress.UpdateAsync(pr => (pr ?? new LifecycleProgress()) with { LastBlockKey = null, LastBlockReasons = null }, ct).ConfigureAwait(false);
        await outboxes.RunTransitionAsync(transition, ct).ConfigureAwait(false);
        context.Log.LogInformation("phase {Phase} → {Target} ({MoveId}), approved by {Approvals}", seen.Phase, target, moveId, approvedBy);
        return moveId;
    }
}
