using System.Globalization;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// Sends the phase C daily report (design section 6): once per closed UTC day in which phase C was in effect,
/// <c>reports/daily/&lt;date&gt;.json</c> and <c>autosave-daily</c> to <c>channels.ok</c> (<see cref="DailyReport"/> builds it).
/// </summary>
internal sealed class DailyReportJob(LifecycleContext context, LifecycleOutboxes outboxes)
{
    /// <summary>Sends the report of the latest closed day when it is due; otherwise does nothing.</summary>
    public async Task SendDueAsync(CancellationToken ct)
    {
        var (state, _) = await context.State.ReadAsync(ct).ConfigureAwait(false);
        var (progress, _) = await context.Progress.ReadAsync(ct).ConfigureAwait(false);
        if (DailyReport.DueDay(context.Now, progress?.LastDailyReport, state?.LastDecidedWindowStart) is not { } day) return;
        var (ledger, _) = await context.Ledger.ReadAsync(ct).ConfigureAwait(false);
        var incidents = (ledger?.Incidents ?? []).Where(i => DateOnly.FromDateTime(i.TriggeredAt.UtcDateTime) == day).Select(i => i.Id).ToList();
        var report = await DailyReport.LoadAsync(context.Blobs, day, context.Policy.Flag, incidents, ct).ConfigureAwait(false);
        PendingOutbox? pending = null;
        if (report.PhaseCInEffect(state))
        {
            await context.Blobs.PutAsync(StorePaths.DailyReport(day), Json.ToBytes(report), WriteCondition.None, ct).ConfigureAwait(false);
            pending = new PendingOutbox($"daily-{day.ToString("yyyyMMdd", CultureInfo.InvariantCulture)}",
                [outboxes.SlackAction(context.Policy.Channels.Ok, TemplateIds.Daily, DailyReport.TemplateValues(report))]);
        }
        await context.Progress.UpdateAsync(pr => (pr ?? new LifecycleProgress()) with
        {
            LastDailyReport = day,
            PendingOutboxes = pending is null || (pr?.PendingOutboxes ?? []).Any(p => p.Id == pending.Id)
                ? pr?.PendingOutboxes ?? []
                : [.. (pr?.PendingOutboxes ?? []), pending],
        }, ct).ConfigureAwait(false);
        if (pending is not null) await outboxes.RunPendingAsync(pending, ct).ConfigureAwait(false);
    }
}
