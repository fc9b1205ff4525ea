using System.Diagnostics.Metrics;
using AutoSaveRollout.Core.Observability;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Hosting.Metrics;
using AutoSaveRollout.Tests.EndToEnd;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Hosting;

/// <summary>The Prometheus text exposition (format 0.0.4) of known measurements, line by line, and the parser that reads it back.</summary>
public sealed class PrometheusExporterTests
{
    private static string[] Lines(string text)
    {
        Assert.EndsWith("\n", text);
        return text[..^1].Split('\n');
    }

    [Fact]
    public void Counters_gauges_and_histograms_are_written_exactly_in_the_text_format()
    {
        using var meter = new Meter("test-" + Guid.NewGuid());
        using var exporter = new PrometheusExporter(meter);
        var jobs = meter.CreateCounter<long>("jobs_done", "{job}", "Jobs done");
        meter.CreateCounter<long>("never_total", null, "Never incremented");
        meter.CreateObservableGauge("queue_depth", () => 4.5);
        var wait = meter.CreateHistogram<double>("wait_seconds", "s", "Wait\\time\nsecond line", tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.125, 1] });
        var depth = meter.CreateUpDownCounter<int>("in_flight");

        jobs.Add(2, new KeyValuePair<string, object?>("kind", "a"));
        jobs.Add(3, new KeyValuePair<string, object?>("kind", "a"));
        jobs.Add(1, new KeyValuePair<string, object?>("kind", "b\"q\\\n"));
        foreach (var v in new[] { 0.0625, 0.125, 0.5, 7 }) wait.Record(v);
        depth.Add(3);
        depth.Add(-1);

        Assert.Equal(
        [
            "# TYPE in_flight gauge",
            "in_flight 2",
            "# HELP jobs_done_total Jobs done",
            "# TYPE jobs_done_total counter",
            "jobs_done_total{kind=\"a\"} 5",
            "jobs_done_total{kind=\"b\\\"q\\\\\\n\"} 1",
            "# HELP never_total Never incremented",
            "# TYPE never_total counter",
            "# TYPE queue_depth gauge",
            "queue_depth 4.5",
            "# HELP wait_seconds Wait\\\\time\\nsecond line",
            "# TYPE wait_seconds histogram",
            "wait_seconds_bucket{le=\"0.125\"} 2",
            "wait_seconds_bucket{le=\"1\"} 3",
            "wait_seconds_bucket{le=\"+Inf\"} 4",
            "wait_seconds_sum 7.6875",
            "wait_seconds_count 4",
        ], Lines(exporter.Render()));
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", exporter.ContentType);
    }

    [Fact]
    public async Task The_pipeline_instruments_render_exactly_for_a_known_set_of_measurements()
    {
        var clock = new ManualTimeProvider();
        using var metrics = new PipelineMetrics(clock);
        using var exporter = new PrometheusExporter(metrics.Meter);

        metrics.RecordCollected(Manifest(completed: 120, errors: 3, drift: 0, rejected: 2));
        metrics.RecordCollected(Manifest(completed: 80, errors: 0, drift: 1, rejected: 0));
        metrics.RecordDecision(Decision("violation", "A"));
        metrics.RecordDecision(Decision("ok", "off"));
        metrics.RecordNotification("#incident-autosave", sent: true);
        metrics.RecordNotification(MeteredPipeline.FlagServiceChannel, sent: false);
        metrics.RecordNotification(MeteredPipeline.FlagServiceChannel, sent: false);
        metrics.RecordRetry("pagerduty");
        metrics.RecordDeadLetter(StorePaths.ReportQueue);
        await metrics.TimeAsync(PipelineMetrics.AnalyzerStage, () => { clock.Advance(TimeSpan.FromMilliseconds(250)); return Task.FromResult(1); });
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            metrics.TimeAsync<int>(PipelineMetrics.ReporterStage, () => { clock.Advance(TimeSpan.FromSeconds(45)); throw new InvalidOperationException("x"); }));

        var buckets = new[] { "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60" };
        string[] Histogram(string stage, double seconds, int firstBucket) =>
        [
            .. buckets.Select((le, i) => $"autosave_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"{le}\"}} {(i >= firstBucket ? 1 : 0)}"),
            $"autosave_stage_duration_seconds_bucket{{stage=\"{stage}\",le=\"+Inf\"}} 1",
            $"autosave_stage_duration_seconds_sum{{stage=\"{stage}\"}} {seconds}",
            $"autosave_stage_duration_seconds_count{{stage=\"{stage}\"}} 1",
        ];
        Assert.Equal(
        [
            "# HELP autosave_batches_analyzed_total Batches the Analyzer judged",
            "# TYPE autosave_batches_analyzed_total counter",
            "autosave_batches_analyzed_total 2",
            "# HELP autosave_dead_letters_total Messages moved to the poison queue, by source queue",
            "# TYPE autosave_dead_letters_total counter",
            "autosave_dead_letters_total{queue=\"autosave-report\"} 1",
            "# HELP autosave_decisions_total Decisions by batch status and phase",
            "# TYPE autosave_decisions_total counter",
            "autosave_decisions_total{phase=\"A\",status=\"violation\"} 1",
            "autosave_decisions_total{phase=\"off\",status=\"ok\"} 1",
            "# HELP autosave_events_collected_total Events the Collector accepted, by event name",
            "# TYPE autosave_events_collected_total counter",
            "autosave_events_collected_total{event=\"autosave.history.drift\"} 1",
            "autosave_events_collected_total{event=\"autosave.save.completed\"} 200",
            "autosave_events_collected_total{event=\"autosave.save.error\"} 3",
            "# HELP autosave_lines_rejected_total Telemetry lines the Collector rejected",
            "# TYPE autosave_lines_rejected_total counter",
            "autosave_lines_rejected_total 2",
            "# HELP autosave_notifications_total Outward deliveries by channel and outcome (sent, failed)",
            "# TYPE autosave_notifications_total counter",
            "autosave_notifications_total{channel=\"#incident-autosave\",outcome=\"sent\"} 1",
            "autosave_notifications_total{channel=\"flag-service\",outcome=\"failed\"} 2",
            "# HELP autosave_retries_total Retries of a failed call, by target",
            "# TYPE autosave_retries_total counter",
            "autosave_retries_total{target=\"pagerduty\"} 1",
            "# HELP autosave_stage_duration_seconds Duration of one stage run (collector, analyzer, reporter)",
            "# TYPE autosave_stage_duration_seconds histogram",
            .. Histogram("analyzer", 0.25, 5),
            .. Histogram("reporter", 45, 12),
        ], Lines(exporter.Render()));
    }

    [Fact]
    public void An_exporter_sees_only_its_own_meter()
    {
        using var mine = new PipelineMetrics();
        using var other = new PipelineMetrics();
        using var exporter = new PrometheusExporter(mine.Meter);

        other.RecordRetry("storage");
        mine.RecordRetry("slack #incident-autosave");

        var text = exporter.Render();
        Assert.Contains("autosave_retries_total{target=\"slack #incident-autosave\"} 1\n", text);
        Assert.DoesNotContain("storage", text);
    }

    [Fact]
    public void The_parser_reads_back_families_types_help_labels_and_values()
    {
        using var meter = new Meter("test-" + Guid.NewGuid());
        using var exporter = new PrometheusExporter(meter);
        meter.CreateCounter<long>("c", null, "Help \\ with\nnewline").Add(7, new KeyValuePair<string, object?>("k", "v \"x\" \\ y\nz"));
        meter.CreateHistogram<double>("h_seconds").Record(0.3);

        var families = PrometheusText.Parse(exporter.Render());

        Assert.Equal(["c_total", "h_seconds"], families.Select(f => f.Name));
        var c = families[0];
        Assert.Equal(("counter", "Help \\ with\nnewline"), (c.Type, c.Help));
        var sample = Assert.Single(c.Samples);
        Assert.Equal(("c_total", "v \"x\" \\ y\nz", 7.0), (sample.Name, sample.Labels["k"], sample.Value));
        var h = families[1];
        Assert.Equal("histogram", h.Type);
        Assert.Equal(PrometheusExporter.DefaultBuckets.Count + 3, h.Samples.Count);
        Assert.Equal(1, h.Samples.Single(s => s.Name == "h_seconds_bucket" && s.Labels["le"] == "0.5").Value);
        Assert.Equal(0, h.Samples.Single(s => s.Name == "h_seconds_bucket" && s.Labels["le"] == "0.25").Value);
        Assert.Equal(0.3, h.Samples.Single(s => s.Name == "h_seconds_sum").Value);
    }

    [Theory]
    [InlineData("# TYPE a counter\na{x=\"1\" 3\n", "line 2: ")]
    [InlineData("a 1\nb{x=\"\\q\"} 2\n", "line 2: bad escape")]
    [InlineData("a one\n", "line 1: bad value 'one'")]
    [InlineData("# TYPE a gaugey\n", "line 1: unknown type")]
    public void The_parser_names_the_line_of_anything_that_is_not_the_text_format(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => PrometheusText.Parse(text));
        Assert.StartsWith(expected, ex.Message);
    }

    [Fact]
    public async Task Metered_ports_count_deliveries_by_channel_and_outcome_in_a_real_replay()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Flags.SetFallback(ScriptedResponse.Text(403, "forbidden"));
        using var metrics = new PipelineMetrics();
        using var exporter = new PrometheusExporter(metrics.Meter);

        await new ReplayRunner(h.Ports.WithMetrics(metrics), h.Policy, h.Templates).RunAsync(
            new global::AutoSaveRollout.Adapters.Telemetry.FileTelemetrySource(Policy.RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl")),
            new ReplayOptions(Phase.A, DryRun: false, TimeSpan.Zero, new QueueProcessingOptions { MaxDequeueCount = 3 }));

        var notifications = Lines(exporter.Render()).Where(l => l.StartsWith("autosave_notifications_total{", StringComparison.Ordinal));
        Assert.Equal(
        [
            "autosave_notifications_total{channel=\"#incident-autosave\",outcome=\"sent\"} 1",
            "autosave_notifications_total{channel=\"flag-service\",outcome=\"failed\"} 3",
            "autosave_notifications_total{channel=\"pagerduty\",outcome=\"sent\"} 1",
        ], notifications);
        Assert.Equal(3, h.Flags.Requests.Count);
    }

    [Fact]
    public async Task Retries_of_the_shared_policy_are_counted_per_target()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Slack.Enqueue(PipelineHarness.IncidentHook, ScriptedResponse.Text(500, "rollup_error"));
        using var metrics = new PipelineMetrics();
        using var exporter = new PrometheusExporter(metrics.Meter);

        await new ReplayRunner(h.Ports.WithMetrics(metrics), h.Policy, h.Templates).RunAsync(
            new global::AutoSaveRollout.Adapters.Telemetry.FileTelemetrySource(Policy.RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl")),
            new ReplayOptions(Phase.A, DryRun: false, TimeSpan.Zero, new QueueProcessingOptions()));

        var retries = Lines(exporter.Render()).Where(l => l.StartsWith("autosave_retries_total{", StringComparison.Ordinal));
        Assert.Equal(["autosave_retries_total{target=\"slack\"} 1"], retries);
        Assert.Equal(2, h.Slack.RequestsTo(PipelineHarness.IncidentHook).Count);
    }

    private static BatchManifest Manifest(long completed, long errors, long drift, long rejected) => new()
    {
        WindowStart = DateTimeOffset.UnixEpoch,
        WindowEnd = DateTimeOffset.UnixEpoch.AddMinutes(15),
        Source = "test",
        Counts = new Dictionary<string, long>
        {
            ["autosave.save.completed"] = completed, ["autosave.save.error"] = errors, ["autosave.history.drift"] = drift,
        },
        Ignored = new Dictionary<string, long>(),
        Rejected = rejected,
        Duplicates = 0,
        BatchPath = "autosave/x.jsonl",
        BatchSha256 = "",
        BatchBytes = 0,
        WrittenAt = DateTimeOffset.UnixEpoch,
        CollectorLatencyS = 0,
        Events = [],
    };

    private static DecisionRecord Decision(string status, string phase) => new()
    {
        DecisionId = "dec", Flag = "autosave", WindowStart = DateTimeOffset.UnixEpoch, WindowEnd = DateTimeOffset.UnixEpoch.AddMinutes(15),
        Phase = phase, Status = status, RollbackRequired = status == "violation", Metrics = new Dictionary<string, DecisionMetric>(),
        Violations = [], Samples = new DecisionSamples(0, 0, 0, 0, 1), NextPhase = phase, CollectorDelayed = false, PolicySha256 = "",
        BatchSha256 = "", BatchPath = "", DecidedAt = DateTimeOffset.UnixEpoch,
    };
}
