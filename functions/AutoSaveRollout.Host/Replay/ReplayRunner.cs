using System.Text.Json;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Host.Replay;

/// <summary>Replay settings.</summary>
/// <param name="Phase">Phase in effect at the first window.</param>
/// <param name="DryRun">Render and record everything, send nothing.</param>
/// <param name="SimulatedLatency">Added to every batch's collector latency (the Collector runs this long after the window end).</param>
/// <param name="Queue">Queue handling (poison after <c>MaxDequeueCount</c>); replay forces a zero visibility timeout.</param>
public sealed record ReplayOptions(Phase Phase, bool DryRun, TimeSpan SimulatedLatency, QueueProcessingOptions Queue)
{
    /// <summary>
    /// Continue in a store that already holds this replay's records (after a crash): the rollout state is kept
    /// (<see cref="Phase"/> only applies when there is none), messages the killed run left queued are dropped, and every
    /// window is announced again in order, so the stages' idempotency skips finished work and completes unfinished work
    /// (pending outbox actions included) at the right simulated time.
    /// </summary>
    public bool Resume { get; init; }

    /// <summary>Told before the first window (0 done) and after each window; called synchronously on the replay's thread.</summary>
    public IProgress<ReplayProgress>? Progress { get; init; }
}

/// <summary>How far a replay is.</summary>
/// <param name="Done">Windows finished (collected, analysed, reported).</param>
/// <param name="Total">Windows to replay.</param>
public sealed record ReplayProgress(int Done, int Total);

/// <summary>What happened in one replayed window.</summary>
/// <param name="Manifest">The Collector's manifest.</param>
/// <param name="Decision">The Analyzer's decision (null if the analyze message was dead-lettered).</param>
/// <param name="Outbox">The Reporter's outbox (null if nothing was reported).</param>
public sealed record ReplayWindow(BatchManifest Manifest, DecisionRecord? Decision, Outbox? Outbox);

/// <summary>
/// Replays telemetry through Collector, Analyzer and Reporter, window by window, on a simulated clock: each window is
/// collected at its end (+ simulated latency) and its queue messages are drained before the next window starts, exactly
/// through the same queues, handlers and storage as the long-running host. Every window is announced again even when
/// already collected, which is what makes a resumed replay (<see cref="ReplayOptions.Resume"/>) finish the work of a
/// killed one: messages received just before the kill stay invisible for the processing lease, but the Collector
/// re-sends analyze, the Analyzer re-applies its decision to the state (once per window) and re-sends report, and the
/// Reporter completes the pending outbox actions with the same dedup and idempotency keys.
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
        return await RunWindowsAsync(source, TimeWindow.Range(coverage.First, coverage.Last).ToList(), options, ct: ct).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="windows"/> (in order, at least one) through the three stages as described on the class;
    /// <paramref name="collectorOptions"/> selects e.g. the simulation mode of <c>analyze</c>
    /// (<see cref="CollectorOptions.AcceptAnyTimestamp"/>).
    /// </summary>
    public async Task<IReadOnlyList<ReplayWindow>> RunWindowsAsync(ITelemetrySource source, IReadOnlyList<TimeWindow> windows, ReplayOptions options,
        CollectorOptions? collectorOptions = null, CancellationToken ct = default)
    {
        var clock = new SimulatedClock(windows[0].Start);

        await new JsonRecordStore<RolloutState>(ports.Blobs, StorePaths.RolloutState)
            .UpdateAsync(s => options.Resume && s is not null ? s : RolloutState.Start(options.Phase.ToWire(), clock.GetUtcNow()), ct)
            .ConfigureAwait(false);

        if (options.Resume) await DiscardQueuedMessagesAsync(ct).ConfigureAwait(false);

        // The stages of the composition, on the simulated clock (the ports keep theirs: leases and retry delays run in real time).
        var collector = ports.CreateCollector(source, clock, collectorOptions);
        var analyzer = ports.CreateAnalyzer(policy, clock, new AnalyzerOptions { InitialPhase = options.Phase });
        var reporter = ports.CreateReporter(policy, templates, clock, options.DryRun, ports.CreateLifecycle(policy, templates, clock, options.DryRun));
        var queueOptions = options.Queue with { VisibilityTimeout = TimeSpan.Zero };
        var analyze = new QueueProcessor(ports.Queues, StorePaths.AnalyzeQueue, (m, c) => analyzer.HandleAsync(m, c), queueOptions, ports.Blobs, clock);
        var report = new QueueProcessor(ports.Queues, StorePaths.ReportQueue, (m, c) => reporter.HandleAsync(m, c), queueOptions, ports.Blobs, clock);

        var results = new List<ReplayWindow>();
        options.Progress?.Report(new ReplayProgress(0, windows.Count));
        foreach (var window in windows)
        {
            clock.Set(window.End + options.SimulatedLatency);
            var manifest = await collector.CollectWindowAsync(window, ct).ConfigureAwait(false);
            await analyze.DrainAsync(ct).ConfigureAwait(false);
            await report.DrainAsync(ct).ConfigureAwait(false);
            var decision = await ReadAsync<DecisionRecord>(StorePaths.Decision(window), ct).ConfigureAwait(false);
            var outbox = await ReadAsync<Outbox>(StorePaths.Outbox(window), ct).ConfigureAwait(false);
            results.Add(new ReplayWindow(manifest, decision, outbox));
            options.Progress?.Report(new ReplayProgress(results.Count, windows.Count));
        }
        return results;
    }

    // A resumed replay announces every window again, in order, at that window's simulated time. Messages a killed run
    // left visible are redundant, and handling them first would judge their window at the wrong simulated time, so they
    // are dropped. Messages the killed run had received stay invisible for the processing lease and are handled,
    // idempotently, if they come back while the replay still runs.
    private async Task DiscardQueuedMessagesAsync(CancellationToken ct)
    {
        foreach (var name in new[] { StorePaths.AnalyzeQueue, StorePaths.ReportQueue })
            await ports.Queues.GetQueue(name).DeleteAllVisibleAsync(TimeSpan.FromMinutes(1), ct).ConfigureAwait(false);
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
        if (d?.Gate is { } gate) // gates (issue 11): confidence mode only, so point-mode lines are unchanged
        {
            line["evidence"] = gate.Summary();
            line["gate"] = gate;
        }
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
                var k when k == ActionKind.Slack => $"{a.Template} → {a.Target}",
                var k when k == ActionKind.PagerDuty => "pagerduty trigger",
                var k when k == ActionKind.Flag => $"rollback {w.Decision.Rollback?.FromPhase}→{w.Decision.Rollback?.ToPhase}",
                _ => a.Kind.ToString(),
            };
            return a.Status == ActionStatus.Done ? what : $"{what} [{a.Status.ToString().Replace('_', '-')}]";
        }));
    }
}
