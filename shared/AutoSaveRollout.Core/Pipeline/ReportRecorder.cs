using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// What a report records after its actions: the rollout state (promotion as of the window, <c>rollback_active</c> through
/// <see cref="RolloutState.RollbackCalled"/> and <see cref="RolloutState.ClearRollbackActive"/>) and the dashboard.
/// </summary>
/// <param name="blobs">The store.</param>
/// <param name="time">The clock.</param>
public sealed class ReportRecorder(IBlobStore blobs, TimeProvider time)
{
    private readonly JsonRecordStore<RolloutState> _state = new(blobs, StorePaths.RolloutState);
    private readonly JsonRecordStore<Dashboard> _dashboard = new(blobs, StorePaths.Dashboard);
    private readonly TimeProvider _time = time;

    /// <summary>Updates the rollout state and the dashboard after the report of <paramref name="d"/> ended as <paramref name="outbox"/>.</summary>
    public async Task UpdateStateAndDashboardAsync(DecisionRecord d, Outbox outbox, PromotionStatus? promotion, CancellationToken ct)
    {
        var rolledBack = outbox.Actions.Any(a => a.Kind == ActionKind.Flag && a.Status.IsFinished);
        var clean = d.Status.IsClean;
        var state = await _state.UpdateAsync(s =>
        {
            s = (s ?? RolloutState.Unstarted(d.NextPhase)).WithPromotionAsOf(promotion, d.WindowStart);
            if (rolledBack)
            {
                var called = s.RollbackCalled(d.DecisionId, d.WindowStart, FlagCallCompletedAt(outbox) ?? _time.GetUtcNow(), _time.GetUtcNow());
                if (!ReferenceEquals(called, s)) return called;
            }
            return clean ? s.ClearRollbackActive(d.WindowStart, _time.GetUtcNow()) : s;
        }, ct).ConfigureAwait(false);

        var window = TimeWindow.StartingAt(d.WindowStart);
        var entry = new DashboardDecision(d.DecisionId, d.WindowStart, d.Phase, d.Status, d.RollbackRequired, d.Violations,
            d.Metrics[MetricNames.P95].Value, d.Metrics[MetricNames.ErrorRate].Value);
        var card = new SloCard(d.Phase, window.ToString(), d.WindowStart, d.Metrics[MetricNames.P95].Value, d.Metrics[MetricNames.ErrorRate].Value,
            d.Metrics[MetricNames.HistoryDrift].Value, d.Metrics[MetricNames.CollectorLatency].Value, d.Status, d.DecisionId)
        {
            Evidence = d.Gate?.Summary(), Gate = d.Gate, // gates (issue 11)
        };
        await _dashboard.UpdateAsync(db => new Dashboard
        {
            Flag = d.Flag,
            Phase = state.Phase,
            RollbackActive = state.RollbackActive,
            Promotion = Newer(db?.Promotion, promotion, d),
            Lifecycle = db?.Lifecycle,
            SloCard = db?.SloCard is { } current && current.WindowStart > d.WindowStart ? current : card,
            RecentDecisions = (db?.RecentDecisions ?? [])
                .Where(x => x.DecisionId != d.DecisionId)
                .Append(entry)
                .OrderByDescending(x => x.WindowStart)
                .Take(Dashboard.RecentLimit)
                .ToList(),
            UpdatedAt = _time.GetUtcNow(),
        }, ct).ConfigureAwait(false);
    }

    private static DateTimeOffset? FlagCallCompletedAt(Outbox outbox) =>
        outbox.Actions.FirstOrDefault(a => a.Kind == ActionKind.Flag && a.Status.IsFinished)?.CompletedAt;

    // Promotion is only replaced by one as of the same or a later window (reports may arrive out of order).
    private static PromotionStatus? Newer(PromotionStatus? current, PromotionStatus? computed, DecisionRecord d) =>
        current?.AsOfWindowStart is { } asOf && asOf > d.WindowStart ? current : computed;
}
