using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>The lifecycle as people see it: the <see cref="LifecycleView"/> of <c>status</c>, and the dashboard's <c>lifecycle</c> section.</summary>
internal sealed class LifecycleDashboard(LifecycleContext context)
{
    /// <summary>How long the Collector runs every 5 minutes after a rollback (design section 6, step 5): 30 min.</summary>
    public static readonly TimeSpan CollectionAfterRollback = TimeSpan.FromMinutes(30);

    /// <summary>The view of <paramref name="state"/>: phase segment, approvals and missing roles, blocked reasons, open incidents, fast cadence.</summary>
    public async Task<LifecycleView> ViewOfAsync(RolloutState state, CancellationToken ct)
    {
        var entries = await context.Audit.ReadAsync(ct).ConfigureAwait(false);
        var (ledger, _) = await context.Ledger.ReadAsync(ct).ConfigureAwait(false);
        var (progress, _) = await context.Progress.ReadAsync(ct).ConfigureAwait(false);
        var active = PhaseExtensions.TryParse(state.Phase, out var phase) && phase != Phase.Off && state.CompletedAt is null;
        var roles = active ? ApproverRoleNames.Names(context.Policy.For(phase).Promotion.Approvers) : [];
        var approvals = active ? Approvals.OfSegment(entries, state) : [];
        var now = context.Now;
        return new LifecycleView
        {
            Phase = state.Phase,
            PhaseSince = state.PhaseSince,
            Target = active ? PromotionEligibility.TargetOf(phase) : null,
            CompletedAt = state.CompletedAt,
            RequiredRoles = roles,
            Approvals = approvals.Select(a => new ApprovalView(a.Id, a.Role!, a.Actor!, a.At, a.Evidence)).ToList(),
            MissingRoles = roles.Where(r => approvals.All(a => a.Role != r)).ToList(),
            BlockedReasons = progress?.LastBlockKey is { } key && key.StartsWith(PhaseMoves.BlockKeyPrefix(state), StringComparison.Ordinal) ? progress.LastBlockReasons : null,
            OpenIncidents = (ledger?.Incidents ?? []).Where(i => i.RcaFoundAt is null).Select(i => new IncidentView(i.Id, i.Phase, i.TriggeredAt,
                i.PagerDutyId is null ? null : $"{i.PagerDutyId}{(i.PagerDutyNumber is { } n ? $" #{n}" : "")}", i.RespondedAt, i.EscalatedAt, i.RcaPath,
                i.TriggeredAt + context.Options.RcaDue, i.RcaOverdueAt is not null, i.DryRun)).ToList(),
            FastCollectionUntil = state.LastRollbackAt is { } rb && rb + CollectionAfterRollback > now ? rb + CollectionAfterRollback : null,
        };
    }

    /// <summary>Refreshes the dashboard's phase, <c>rollback_active</c>, promotion and lifecycle section (no dashboard yet: nothing).</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        var (dashboard, _) = await context.Dashboard.ReadAsync(ct).ConfigureAwait(false);
        if (dashboard is null) return;
        var (state, _) = await context.State.ReadAsync(ct).ConfigureAwait(false);
        var view = state is null ? null : await ViewOfAsync(state, ct).ConfigureAwait(false);
        await context.Dashboard.UpdateAsync(db => db! with
        {
            Phase = state?.Phase ?? db.Phase,
            RollbackActive = state?.RollbackActive ?? db.RollbackActive,
            Promotion = state?.Promotion is { } p && (db.Promotion is null || db.Promotion.Phase != p.Phase || p.AsOfWindowStart >= db.Promotion.AsOfWindowStart) ? p : db.Promotion,
            Lifecycle = view,
            UpdatedAt = context.Now,
        }, ct).ConfigureAwait(false);
    }
}
