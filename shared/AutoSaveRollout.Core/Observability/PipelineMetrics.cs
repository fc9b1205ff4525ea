using System.Diagnostics.Metrics;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Observability;

/// <summary>
/// The pipeline's instruments, on one <see cref="Meter"/> named <see cref="MeterName"/> (System.Diagnostics.Metrics, so
/// any listener can read them: the standalone host's Prometheus endpoint, OpenTelemetry). Names follow the Prometheus /
/// OpenTelemetry conventions, with the unit in the name; counters are exported with the <c>_total</c> suffix:
/// <list type="bullet">
/// <item><c>autosave_events_collected_total{event}</c>: accepted events per known event name (manifest counts);</item>
/// <item><c>autosave_lines_rejected_total</c>: lines the Collector rejected;</item>
/// <item><c>autosave_batches_analyzed_total</c>: decisions the Analyzer wrote;</item>
/// <item><c>autosave_decisions_total{status,phase}</c>: decisions by batch status and phase;</item>
/// <item><c>autosave_notifications_total{channel,outcome}</c>: outward deliveries (Slack channel, <c>pagerduty</c>,
/// <c>flag-service</c>), outcome <c>sent</c> or <c>failed</c>;</item>
/// <item><c>autosave_retries_total{target}</c>: retries of an outward or storage call;</item>
/// <item><c>autosave_dead_letters_total{queue}</c>: messages moved to the poison queue, by source queue (both pipeline
/// queues have a series, 0, from the start);</item>
/// <item><c>autosave_stage_duration_seconds{stage}</c>: histogram of one stage run (<c>collector</c>, <c>analyzer</c>,
/// <c>reporter</c>), failed runs included.</item>
/// </list>
/// Gauges of the rollout's status, read from the last <see cref="RolloutGauges"/> given to <see cref="SetStatus"/> (by
/// <see cref="RolloutGaugeReader"/>); none has a series before the first snapshot, and a window metric the latest decision
/// lacks (e.g. no P95 without completed saves) has none either:
/// <list type="bullet">
/// <item><c>autosave_window_p95_seconds</c>, <c>autosave_window_error_rate_percent</c>, <c>autosave_window_history_drift</c>
/// (1-hour moving average of drift events per window), <c>autosave_window_collector_latency_seconds</c>: the latest
/// decided window's values; <c>autosave_window_start_timestamp_seconds</c>: that window's start (Unix seconds);</item>
/// <item><c>autosave_rollout_phase{phase}</c>: 1 for the phase in effect, 0 for the others (<c>off</c>, <c>A</c>, <c>B</c>, <c>C</c>);</item>
/// <item><c>autosave_rollback_active</c>, <c>autosave_flag_change_pending</c>: 1 or 0;</item>
/// <item><c>autosave_incidents_open</c>: incident ledger entries without an RCA;</item>
/// <item><c>autosave_dead_letters_waiting{queue}</c>: messages in the poison queue of each pipeline queue (by source queue).</item>
/// </list>
/// Thread-safe. Disposing disposes the meter.
/// </summary>
public sealed class PipelineMetrics : IDisposable
{
    /// <summary>Meter name.</summary>
    public const string MeterName = "AutoSaveRollout";

    /// <summary><c>stage</c> label of the Collector.</summary>
    public const string CollectorStage = "collector";

    /// <summary><c>stage</c> label of the Analyzer.</summary>
    public const string AnalyzerStage = "analyzer";

    /// <summary><c>stage</c> label of the Reporter.</summary>
    public const string ReporterStage = "reporter";

    /// <summary>
    /// Bucket upper bounds of <c>autosave_stage_duration_seconds</c>, in seconds: the Prometheus client defaults
    /// (5 ms – 10 s) plus 30 s and 60 s for long back-fills.
    /// </summary>
    public static readonly IReadOnlyList<double> StageDurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

    private readonly TimeProvider _time;
    private readonly Counter<long> _eventsCollected;
    private readonly Counter<long> _linesRejected;
    private readonly Counter<long> _batchesAnalyzed;
    private readonly Counter<long> _decisions;
    private readonly Counter<long> _notifications;
    private readonly Counter<long> _retries;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> _deadLetterCounts = new(StringComparer.Ordinal);
    private readonly Histogram<double> _stageDuration;
    private volatile RolloutGauges? _status;

    /// <summary>Creates the instruments on a new meter (from <paramref name="meterFactory"/> when given); stage durations are measured on <paramref name="time"/>.</summary>
    public PipelineMetrics(TimeProvider? time = null, IMeterFactory? meterFactory = null)
    {
        _time = time ?? TimeProvider.System;
        Meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _eventsCollected = Meter.CreateCounter<long>("autosave_events_collected", "{event}", "Events the Collector accepted, by event name");
        _linesRejected = Meter.CreateCounter<long>("autosave_lines_rejected", "{line}", "Telemetry lines the Collector rejected");
        _batchesAnalyzed = Meter.CreateCounter<long>("autosave_batches_analyzed", "{batch}", "Batches the Analyzer judged");
        _decisions = Meter.CreateCounter<long>("autosave_decisions", "{decision}", "Decisions by batch status and phase");
        _notifications = Meter.CreateCounter<long>("autosave_notifications", "{delivery}", "Outward deliveries by channel and outcome (sent, failed)");
        _retries = Meter.CreateCounter<long>("autosave_retries", "{retry}", "Retries of a failed call, by target");
        // Observed rather than added to, so that both pipeline queues have a series (0) whenever a listener starts: an
        // exporter shows a counter only once it has a series, and rate() needs the zero.
        foreach (var queue in new[] { StorePaths.AnalyzeQueue, StorePaths.ReportQueue }) _deadLetterCounts[queue] = 0;
        Meter.CreateObservableCounter("autosave_dead_letters", () => _deadLetterCounts.OrderBy(q => q.Key, StringComparer.Ordinal)
            .Select(q => new Measurement<long>(q.Value, new KeyValuePair<string, object?>("queue", q.Key))).ToList(),
            "{message}", "Messages moved to the poison queue, by source queue");
        _stageDuration = Meter.CreateHistogram<double>("autosave_stage_duration_seconds", "s", "Duration of one stage run (collector, analyzer, reporter)",
            tags: null, advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = StageDurationBuckets });

        Meter.CreateObservableGauge("autosave_window_p95_seconds", () => Window(s => s.P95Seconds), "s", "P95 save latency of the latest decided window");
        Meter.CreateObservableGauge("autosave_window_error_rate_percent", () => Window(s => s.ErrorRatePercent), "%", "Error rate of the latest decided window, percent");
        Meter.CreateObservableGauge("autosave_window_history_drift", () => Window(s => s.HistoryDrift), "{event}",
            "History drift of the latest decided window: 1-hour moving average of drift events per window");
        Meter.CreateObservableGauge("autosave_window_collector_latency_seconds", () => Window(s => s.CollectorLatencySeconds), "s",
            "Collector latency of the latest decided window (batch written - window end)");
        Meter.CreateObservableGauge("autosave_window_start_timestamp_seconds", () => Window(s => s.WindowStart?.ToUnixTimeSeconds()), "s",
            "Start of the latest decided window, Unix time");
        Meter.CreateObservableGauge("autosave_rollout_phase", PhaseMeasurements, null, "Phase in effect: 1 for the current phase, 0 for the others");
        Meter.CreateObservableGauge("autosave_rollback_active", () => Flag(s => s.RollbackActive), null, "1 while a rollback is active (until a clean window)");
        Meter.CreateObservableGauge("autosave_flag_change_pending", () => Flag(s => s.FlagChangePending), null,
            "1 while a flag change is requested but not yet confirmed by the flag service");
        Meter.CreateObservableGauge("autosave_incidents_open", () => Count(s => s.OpenIncidents), "{incident}", "Incident ledger entries without an RCA");
        Meter.CreateObservableGauge("autosave_dead_letters_waiting", DeadLetterMeasurements, "{message}", "Messages waiting in the poison queue, by source queue");
    }

    /// <summary>Phase label values of <c>autosave_rollout_phase</c>, in order.</summary>
    public static readonly IReadOnlyList<string> PhaseLabels = ["off", "A", "B", "C"];

    /// <summary>The status the gauges show, or null before the first <see cref="SetStatus"/>.</summary>
    public RolloutGauges? Status => _status;

    /// <summary>Replaces the status the gauges show (read at the next collection).</summary>
    public void SetStatus(RolloutGauges status) => _status = status ?? throw new ArgumentNullException(nameof(status));

    private IEnumerable<Measurement<double>> Window(Func<RolloutGauges, double?> value) =>
        _status is { } s && value(s) is { } v && double.IsFinite(v) ? [new Measurement<double>(v)] : [];

    private IEnumerable<Measurement<long>> Flag(Func<RolloutGauges, bool> value) => _status is { } s ? [new Measurement<long>(value(s) ? 1 : 0)] : [];

    private IEnumerable<Measurement<long>> Count(Func<RolloutGauges, int> value) => _status is { } s ? [new Measurement<long>(value(s))] : [];

    private IEnumerable<Measurement<long>> PhaseMeasurements()
    {
        if (_status is not { Phase: { } phase } s) return [];
        var labels = PhaseLabels.Contains(phase) ? PhaseLabels : [.. PhaseLabels, phase];
        return labels.Select(p => new Measurement<long>(p == phase ? 1 : 0, new KeyValuePair<string, object?>("phase", p))).ToList();
    }

    private IEnumerable<Measurement<long>> DeadLetterMeasurements() =>
        _status is { } s
            ? s.DeadLettersWaiting.OrderBy(q => q.Key, StringComparer.Ordinal)
                .Select(q => new Measurement<long>(q.Value, new KeyValuePair<string, object?>("queue", q.Key))).ToList()
            : [];

    /// <summary>The meter holding every instrument.</summary>
    public Meter Meter { get; }

    /// <summary>
    /// Counts a collected window: its accepted events per name and its rejected lines. Zeros are added too, so every known
    /// event name has a series from the first collection on.
    /// </summary>
    public void RecordCollected(BatchManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        foreach (var (name, count) in manifest.Counts)
            _eventsCollected.Add(count, new KeyValuePair<string, object?>("event", name));
        _linesRejected.Add(manifest.Rejected);
    }

    /// <summary>Counts a decision: one analysed batch, and one decision for its status and phase.</summary>
    public void RecordDecision(DecisionRecord decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        _batchesAnalyzed.Add(1);
        _decisions.Add(1, new KeyValuePair<string, object?>("status", decision.Status.Value), new KeyValuePair<string, object?>("phase", decision.Phase));
    }

    /// <summary>Counts one outward delivery attempt to <paramref name="channel"/> (a Slack channel, <c>pagerduty</c>, <c>flag-service</c>).</summary>
    public void RecordNotification(string channel, bool sent) =>
        _notifications.Add(1, new KeyValuePair<string, object?>("channel", channel), new KeyValuePair<string, object?>("outcome", sent ? "sent" : "failed"));

    /// <summary>Counts one retry of a call to <paramref name="target"/> (e.g. <c>slack #incident-autosave</c>, <c>pagerduty</c>, <c>flag-service</c>, <c>storage</c>).</summary>
    public void RecordRetry(string target) => _retries.Add(1, new KeyValuePair<string, object?>("target", target));

    /// <summary>Counts one message of <paramref name="queue"/> (the source queue) moved to its poison queue.</summary>
    public void RecordDeadLetter(string queue) => _deadLetterCounts.AddOrUpdate(queue, 1, (_, n) => n + 1);

    /// <summary>Records one run of <paramref name="stage"/> that took <paramref name="elapsed"/>.</summary>
    public void RecordStageDuration(string stage, TimeSpan elapsed) =>
        _stageDuration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("stage", stage));

    /// <summary>Runs <paramref name="body"/> and records its duration as <paramref name="stage"/>, whether it succeeds or throws.</summary>
    public async Task<T> TimeAsync<T>(string stage, Func<Task<T>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var start = _time.GetTimestamp();
        try
        {
            return await body().ConfigureAwait(false);
        }
        finally
        {
            RecordStageDuration(stage, _time.GetElapsedTime(start));
        }
    }

    /// <inheritdoc />
    public void Dispose() => Meter.Dispose();
}
