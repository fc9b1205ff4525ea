using System.Text.Json;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Hosting;

namespace AutoSaveRollout.Host.Replay;

/// <summary>Replay settings.</summary>
/// <param name="Phase">Phase in effect at the first window.</param>
/// <param name="DryRun">Render and record everything, send nothing.</param>
/// <param name="SimulatedLatency">Added to every batch's collector latency (the Collector runs this long after the window end).</param>
/// <param name="Queue">Queue handling (poison after <c>MaxDequeueCount</c>); replay forces a zero visibility timeout.</param>
public sealed record ReplayOptions(Phase Phase, bool DryRun, TimeSpan SimulatedLatency, QueueProcessingOptions Queue);

/// <summary>What happened in one replayed window.</summary>
/// <param name="Manifest">The Collector's manifest.</param>
/// <param name="Decision">The Analyzer's decision (null if the analyze message was dead-lettered).</param>
/// <param name="Outbox">The Reporter's outbox (null if nothing was reported).</param>
public sealed record ReplayWindow(BatchManifest Manifest, DecisionRecord? Decision, Outbox? Outbox);

/// <summary>
/// Replays telemetry through Collector, Analyzer and Reporter, window by window, on a simulated clock: each window is
/// collected at its end (+ simulated latency) and its queue messages are drained before the next window starts, exactly
/// through the same queues, handlers and storage as the long-running host.
/// </summary>
public sealed class ReplayRunner(PipelinePorts ports, RolloutPolicy policy, TemplateRenderer templates)
{
    /// <summary>
    /// Runs every window from the first to the last one holding an accepted event (empty windows included).
    /// Throws <see cref="InvalidDataException"/> when the input holds no accepted event.
    /// </summary>
    public async Task<IReadOnlyList<ReplayWindow>> RunAsync(FileTelemetrySource source, ReplayOptions options, CancellationToken ct = default)
    {
        var coverage = await source.GetCoverageAsync(ct).ConfigureAwait(false)
            ?? throw new InvalidDataException($"no accepted telemetry event in {source.Description}");
        var clock = new SimulatedClock(coverage.First.Start);

        await new JsonRecordStore<RolloutState>(ports.Blobs, StorePaths.RolloutState)
            .UpdateAsync(_ => new RolloutState { Phase = options.Phase.ToWire(), UpdatedAt = clock.GetUtcNow() }, ct).ConfigureAwait(false);

        var collector = new Collector(ports.Blobs, ports.Queues, ports.Locks, source, clock);
        var analyzer = new Analyzer(ports.Blobs, ports.Queues, policy, clock, new AnalyzerOptions { InitialPhase = options.Phase });
        var reporter = new Reporter(ports.Blobs, policy, templates, ports.Slack, ports.PagerDuty, ports.Flags, clock,
            new ReporterOptions { DryRun = options.DryRun });
        var queueOptions = options.Queue with { VisibilityTimeout = TimeSpan.Zero };
        var analyze = new QueueProcessor(ports.Queues, StorePaths.AnalyzeQueue, (m, c) => analyzer.HandleAsync(m, c), queueOptions, ports.Blobs, clock);
        var report = new QueueProcessor(ports.Queues, StorePaths.ReportQueue, (m, c) => reporter.HandleAsync(m, c), queueOptions, ports.Blobs, clock);

        var results = new List<ReplayWindow>();
        foreach (var window in TimeWindow.Range(coverage.First, coverage.Last))
        {
            clock.Set(window.End + options.SimulatedLatency);
            var manifest = await collector.CollectWindowAsync(window, ct).ConfigureAwait(false);
            await analyze.DrainAsync(ct).ConfigureAwait(false);
            await report.DrainAsync(ct).ConfigureAwait(false);
            var decision = await ReadAsync<DecisionRecord>(StorePaths.Decision(window), ct).ConfigureAwait(false);
            var outbox = await ReadAsync<Outbox>(StorePaths.Outbox(window), ct).ConfigureAwait(false);
            results.Add(new ReplayWindow(manifest, decision, outbox));
        }
        return results;
    }

    private async Task<T?> ReadAsync<T>(string path, CancellationToken ct) where T : class
    {
        var blob = await ports.Blobs.TryGetAsync(path, ct).ConfigureAwait(false);
        return blob is null ? null : Json.FromBytes<T>(blob.Content);
    }

    /// <summary>
    /// The <c>--json</c> line of a window: window_start, window_end, phase, p95_s, error_rate_pct, history_drift,
    /// collector_latency_s (numbers unrounded, null when undefined), status, rollback_required, per-metric statuses,
    /// counts (completed, errors, drift_events, rejected, duplicates, ignored), decision_id and the actions taken.
    /// </summary>
    public static string ToJsonLine(ReplayWindow w)
    {
        var d = w.Decision;
        double? Metric(string name) => d?.Metrics[name].Value;
        var line = new Dictionary<string, object?>
        {
            ["window_start"] = w.Manifest.WindowStart,
            ["window_end"] = w.Manifest.WindowEnd,
            ["phase"] = d?.Phase,
            ["p95_s"] = Metric(MetricNames.P95),
            ["error_rate_pct"] = Metric(MetricNames.ErrorRate),
            ["history_drift"] = Metric(MetricNames.HistoryDrift),
            ["collector_latency_s"] = d is null ? w.Manifest.CollectorLatencyS : Metric(MetricNames.CollectorLatency),
            ["status"] = d?.Status ?? "dead_lettered",
            ["rollback_required"] = d?.RollbackRequired ?? false,
            ["metric_status"] = d?.Metrics.ToDictionary(kv => kv.Key, kv => kv.Value.Status),
            ["violations"] = d?.Violations,
            ["next_phase"] = d?.NextPhase,
            ["completed"] = d?.Samples.Completed,
            ["errors"] = d?.Samples.Errors,
            ["drift_events"] = d?.Samples.DriftEvents,
            ["rejected"] = w.Manifest.Rejected,
            ["duplicates"] = w.Manifest.Duplicates,
            ["ignored"] = w.Manifest.Ignored.Values.Sum(),
            ["collector_events"] = w.Manifest.Events,
            ["decision_id"] = d?.DecisionId,
            ["actions"] = w.Outbox?.Actions.Select(a => new { id = a.Id, status = a.Status }).ToList(),
        };
        return JsonSerializer.Serialize(line, Json.Compact);
    }

    /// <summary>A short human summary of the actions taken for a window, e.g. <c>incident → #incident-autosave, pagerduty, rollback A→off, runbook</c>.</summary>
    public static string ActionSummary(ReplayWindow w)
    {
        if (w.Decision is null) return "analyze message dead-lettered";
        if (w.Outbox is null || w.Outbox.Actions.Count == 0) return "—";
        return string.Join(", ", w.Outbox.Actions.Select(a =>
        {
            var what = a.Kind switch
            {
                ActionKinds.Slack => $"{a.Template} → {a.Target}",
                ActionKinds.PagerDuty => "pagerduty trigger",
                ActionKinds.Flag => $"rollback {w.Decision.Rollback?.FromPhase}→{w.Decision.Rollback?.ToPhase}",
                _ => a.Kind,
            };
            return a.Status == ActionStatus.Done ? what : $"{what} [{a.Status.Replace('_', '-')}]";
        }));
    }
}
