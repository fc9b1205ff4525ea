using AutoSaveRollout.Core.Observability;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Hosting.Metrics;

/// <summary>
/// Instruments the pipeline at composition level, without touching the stages: decorators around the outward ports count
/// deliveries (<c>autosave_notifications_total{channel,outcome}</c>), and the stage entry points are wrapped to time each
/// run and count what it returned (manifests, decisions).
/// </summary>
public static class MeteredPipeline
{
    /// <summary>Channel label of PagerDuty deliveries.</summary>
    public const string PagerDutyChannel = "pagerduty";

    /// <summary>Channel label of flag-service calls.</summary>
    public const string FlagServiceChannel = "flag-service";

    /// <summary>The same ports with Slack, PagerDuty and the flag service counted on <paramref name="metrics"/>.</summary>
    public static PipelinePorts WithMetrics(this PipelinePorts ports, PipelineMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(ports);
        ArgumentNullException.ThrowIfNull(metrics);
        ports.Retries.Retrying += attempt => metrics.RecordRetry(attempt.Target);
        return ports with
        {
            Slack = new MeteredSlack(ports.Slack, metrics),
            PagerDuty = new MeteredPagerDuty(ports.PagerDuty, metrics),
            Flags = new MeteredFlags(ports.Flags, metrics),
        };
    }

    /// <summary>Runs <see cref="Collector.CollectDueAsync"/>, timed as stage <c>collector</c>, and counts the collected windows.</summary>
    public static async Task<IReadOnlyList<BatchManifest>> CollectDueAsync(Collector collector, PipelineMetrics metrics, CancellationToken ct)
    {
        var manifests = await metrics.TimeAsync(PipelineMetrics.CollectorStage, () => collector.CollectDueAsync(ct)).ConfigureAwait(false);
        foreach (var m in manifests) metrics.RecordCollected(m);
        return manifests;
    }

    /// <summary>
    /// The analyze-queue handler, timed as stage <c>analyzer</c>, counting each window decision. A
    /// <c>collector.retry_exhausted</c> message yields no decision (the Analyzer returns null) and counts none. With
    /// <paramref name="gauges"/>, the status gauges are re-read after every run (failed runs included).
    /// </summary>
    public static Func<string, CancellationToken, Task> AnalyzerHandler(Analyzer analyzer, PipelineMetrics metrics, RolloutGaugeReader? gauges = null) =>
        async (text, ct) =>
        {
            try
            {
                var decision = await metrics.TimeAsync(PipelineMetrics.AnalyzerStage, () => analyzer.HandleAsync(text, ct)).ConfigureAwait(false);
                if (decision is not null) metrics.RecordDecision(decision);
            }
            finally
            {
                if (gauges is not null && !ct.IsCancellationRequested) await gauges.RefreshAsync(ct).ConfigureAwait(false);
            }
        };

    /// <summary>
    /// The report-queue handler, timed as stage <c>reporter</c>. With <paramref name="gauges"/>, the status gauges are
    /// re-read after every run (the Reporter sets <c>rollback_active</c> and requests flag changes).
    /// </summary>
    public static Func<string, CancellationToken, Task> ReporterHandler(Reporter reporter, PipelineMetrics metrics, RolloutGaugeReader? gauges = null) =>
        async (text, ct) =>
        {
            try
            {
                await metrics.TimeAsync(PipelineMetrics.ReporterStage, () => reporter.HandleAsync(text, ct)).ConfigureAwait(false);
            }
            finally
            {
                if (gauges is not null && !ct.IsCancellationRequested) await gauges.RefreshAsync(ct).ConfigureAwait(false);
            }
        };

    private static async Task<T> CountAsync<T>(PipelineMetrics metrics, string channel, Func<Task<T>> call, CancellationToken ct)
    {
        try
        {
            var result = await call().ConfigureAwait(false);
            metrics.RecordNotification(channel, sent: true);
            return result;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            metrics.RecordNotification(channel, sent: false);
            throw;
        }
    }

    private sealed class MeteredSlack(ISlackNotifier inner, PipelineMetrics metrics) : ISlackNotifier
    {
        public Task PostAsync(string channel, string text, CancellationToken cancellationToken = default) =>
            CountAsync(metrics, channel, async () => { await inner.PostAsync(channel, text, cancellationToken).ConfigureAwait(false); return true; }, cancellationToken);
    }

    private sealed class MeteredPagerDuty(IPagerDutyEvents inner, PipelineMetrics metrics) : IPagerDutyEvents
    {
        public Task<string> SendAsync(PagerDutyEvent pagerDutyEvent, CancellationToken cancellationToken = default) =>
            CountAsync(metrics, PagerDutyChannel, () => inner.SendAsync(pagerDutyEvent, cancellationToken), cancellationToken);
    }

    private sealed class MeteredFlags(IRollbackFlagService inner, PipelineMetrics metrics) : IRollbackFlagService
    {
        public Task RollbackAsync(FlagRollbackRequest request, CancellationToken cancellationToken = default) =>
            CountAsync(metrics, FlagServiceChannel, async () => { await inner.RollbackAsync(request, cancellationToken).ConfigureAwait(false); return true; }, cancellationToken);

        public Task SetPhaseAsync(FlagPhaseRequest request, CancellationToken cancellationToken = default) =>
            CountAsync(metrics, FlagServiceChannel, async () => { await inner.SetPhaseAsync(request, cancellationToken).ConfigureAwait(false); return true; }, cancellationToken);
    }
}
