using System.Diagnostics.Metrics;
using AutoSaveRollout.Core.Observability;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Hosting.Metrics;
using Microsoft.Extensions.DependencyInjection;
using AutoSaveRollout.Tests.EndToEnd;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Hosting;

/// <summary>
/// The pipeline's instruments as the standalone host's <c>/metrics</c> serves them (OpenTelemetry's Prometheus exporter on
/// Kestrel, scraped over HTTP on 127.0.0.1), line by line, and the parser of the <c>metrics</c> command that reads it back.
/// The exporter writes an unlabelled sample as <c>name{} value</c> and HELP after TYPE; the families' order is its own,
/// so lines are compared as sets.
/// </summary>
public sealed class PrometheusExporterTests
{
    private static string[] Sorted(IEnumerable<string> lines) => lines.Order(StringComparer.Ordinal).ToArray();

    // Replays the phase A violation fixture through metered ports (real sends to the harness's listeners).
    private static Task<IReadOnlyList<ReplayWindow>> ReplayViolationFixtureAsync(PipelineHarness h, PipelineMetrics metrics, int maxDequeueCount = 5) =>
        new ReplayRunner(h.Ports.WithMetrics(metrics), h.Policy, h.Templates).RunAsync(
            new global::AutoSaveRollout.Adapters.Telemetry.FileTelemetrySource(Policy.RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl")),
            new ReplayOptions(Phase.A, DryRun: false, TimeSpan.Zero, new QueueProcessingOptions { MaxDequeueCount = maxDequeueCount }));

    [Fact]
    public async Task The_pipeline_instruments_render_exactly_for_a_known_set_of_measurements()
    {
        var clock = new ManualTimeProvider();
        using var metrics = new PipelineMetrics(clock);
        await using var scrape = await MetricsScrape.StartAsync(metrics.Meter);

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
        var text = await scrape.TextAsync();
        Assert.EndsWith("\n", text);
        Assert.Equal(Sorted(
        [
            "# HELP autosave_batches_analyzed_total Batches the Analyzer judged",
            "# TYPE autosave_batches_analyzed_total counter",
            "autosave_batches_analyzed_total{} 2",
            "# HELP autosave_dead_letters_total Messages moved to the poison queue, by source queue",
            "# TYPE autosave_dead_letters_total counter",
            "autosave_dead_letters_total{queue=\"autosave-analyze\"} 0",
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
            "autosave_lines_rejected_total{} 2",
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
        ]), Sorted(text.Split('\n').Where(l => l.Length > 0)));
    }

    [Fact]
    public async Task An_endpoint_serves_only_its_own_meter_instance()
    {
        using var mine = new PipelineMetrics();
        using var other = new PipelineMetrics(); // same meter name
        await using var scrape = await MetricsScrape.StartAsync(mine.Meter);

        other.RecordRetry("storage");
        mine.RecordRetry("slack #incident-autosave");

        var text = await scrape.TextAsync();
        Assert.Contains("autosave_retries_total{target=\"slack #incident-autosave\"} 1\n", text);
        Assert.DoesNotContain("storage", text);
    }

    [Fact]
    public async Task The_endpoint_answers_404_elsewhere_and_405_to_other_methods()
    {
        using var metrics = new PipelineMetrics();
        await using var scrape = await MetricsScrape.StartAsync(metrics.Meter);
        using var http = new HttpClient();

        using var other = await http.GetAsync(new Uri(scrape.Url, "/other"));
        using var post = await http.PostAsync(scrape.Url, new StringContent(""));
        using var get = await http.GetAsync(scrape.Url);

        Assert.Equal(System.Net.HttpStatusCode.NotFound, other.StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.MethodNotAllowed, post.StatusCode);
        Assert.Equal(["GET", "HEAD"], post.Content.Headers.Allow);
        Assert.Equal(System.Net.HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("text/plain", get.Content.Headers.ContentType?.MediaType);
        Assert.Contains(get.Content.Headers.ContentType!.Parameters, p => p.Name == "version" && p.Value == "0.0.4");
    }

    [Fact]
    public async Task The_parser_reads_back_families_types_help_labels_and_values()
    {
        using var meter = new Meter("test-" + Guid.NewGuid());
        await using var scrape = await MetricsScrape.StartAsync(meter);
        meter.CreateCounter<long>("c", null, "Help \\ with\nnewline").Add(7, new KeyValuePair<string, object?>("k", "v \"x\" \\ y\nz"));
        meter.CreateHistogram<double>("h_seconds").Record(0.3);

        var families = PrometheusText.Parse(await scrape.TextAsync()).OrderBy(f => f.Name, StringComparer.Ordinal).ToList();

        Assert.Equal(["c_total", "h_seconds"], families.Select(f => f.Name));
        var c = families[0];
        Assert.Equal(("counter", "Help \\ with\nnewline"), (c.Type, c.Help));
        var sample = Assert.Single(c.Samples);
        Assert.Equal(("c_total", "v \"x\" \\ y\nz", 7.0), (sample.Name, sample.Labels["k"], sample.Value));
        var h = families[1];
        Assert.Equal("histogram", h.Type);
        Assert.Equal(OpenTelemetryDefaultBuckets + 3, h.Samples.Count);
        Assert.Equal(1, h.Samples.Single(s => s.Name == "h_seconds_bucket" && s.Labels["le"] == "5").Value);
        Assert.Equal(0, h.Samples.Single(s => s.Name == "h_seconds_bucket" && s.Labels["le"] == "0").Value);
        Assert.Equal(0.3, h.Samples.Single(s => s.Name == "h_seconds_sum").Value);
    }

    // OpenTelemetry's default explicit bucket bounds for a histogram without advice: 0, 5, 10, 25, 50, 75, 100, 250, 500,
    // 750, 1000, 2500, 5000, 7500, 10000.
    private const int OpenTelemetryDefaultBuckets = 15;

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
        await using var scrape = await MetricsScrape.StartAsync(metrics.Meter);

        await ReplayViolationFixtureAsync(h, metrics, maxDequeueCount: 3);

        var notifications = Sorted(await scrape.SampleLinesAsync()).Where(l => l.StartsWith("autosave_notifications_total{", StringComparison.Ordinal));
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
        await using var scrape = await MetricsScrape.StartAsync(metrics.Meter);

        await ReplayViolationFixtureAsync(h, metrics);

        var retries = (await scrape.SampleLinesAsync()).Where(l => l.StartsWith("autosave_retries_total{", StringComparison.Ordinal));
        Assert.Equal(["autosave_retries_total{target=\"slack\"} 1"], retries);
        Assert.Equal(2, h.Slack.RequestsTo(PipelineHarness.IncidentHook).Count);
    }

    private static double Value(IReadOnlyList<PrometheusFamily> families, string family, string? label = null, string? value = null)
    {
        var f = Assert.Single(families, f => f.Name == family);
        Assert.Equal("gauge", f.Type);
        return Assert.Single(f.Samples, s => label is null || s.Labels[label] == value).Value;
    }

    [Fact]
    public async Task After_a_violation_replay_the_status_gauges_show_the_latest_window_the_phase_the_rollback_and_the_open_incident()
    {
        await using var h = await PipelineHarness.StartAsync();
        using var metrics = new PipelineMetrics();
        await using var scrape = await MetricsScrape.StartAsync(metrics.Meter);
        var before = PrometheusText.Parse(await scrape.TextAsync());
        Assert.DoesNotContain(before, f => f.Name.StartsWith("autosave_window_", StringComparison.Ordinal) || f.Name == "autosave_rollout_phase");

        var results = await ReplayViolationFixtureAsync(h, metrics);
        var status = await new RolloutGaugeReader(h.Ports.Blobs, h.Ports.Queues, TimeProvider.System, metrics).RefreshAsync();

        Assert.NotNull(status);
        var last = results[^1].Decision!;
        var families = PrometheusText.Parse(await scrape.TextAsync());
        Assert.Equal(last.Metrics[MetricNames.P95].Value, Value(families, "autosave_window_p95_seconds"));
        Assert.Equal(last.Metrics[MetricNames.ErrorRate].Value, Value(families, "autosave_window_error_rate_percent"));
        Assert.Equal(last.Metrics[MetricNames.HistoryDrift].Value, Value(families, "autosave_window_history_drift"));
        Assert.Equal(last.Metrics[MetricNames.CollectorLatency].Value, Value(families, "autosave_window_collector_latency_seconds"));
        Assert.Equal(last.WindowStart.ToUnixTimeSeconds(), Value(families, "autosave_window_start_timestamp_seconds"));
        Assert.Equal(DateTimeOffset.Parse("2026-11-20T09:45:00Z"), last.WindowStart); // the fixture's last window, judged after the rollback
        Assert.Equal(1.390975, Value(families, "autosave_window_p95_seconds"), 9);
        Assert.Equal(0, Value(families, "autosave_window_error_rate_percent"));
        // The violation in phase A rolled the flag back (the flag service accepted): phase off, rollback still active,
        // no flag change pending, the PagerDuty incident open (no RCA yet), nothing dead-lettered.
        Assert.Equal([("off", 1.0), ("A", 0.0), ("B", 0.0), ("C", 0.0)],
            Assert.Single(families, f => f.Name == "autosave_rollout_phase").Samples.Select(s => (s.Labels["phase"], s.Value)));
        Assert.Equal(1, Value(families, "autosave_rollback_active"));
        Assert.Equal(0, Value(families, "autosave_flag_change_pending"));
        Assert.Equal(1, Value(families, "autosave_incidents_open"));
        Assert.Equal(0, Value(families, "autosave_dead_letters_waiting", "queue", StorePaths.AnalyzeQueue));
        Assert.Equal(0, Value(families, "autosave_dead_letters_waiting", "queue", StorePaths.ReportQueue));
    }

    [Fact]
    public async Task While_the_flag_service_refuses_the_rollback_rollback_active_stays_0_and_the_report_message_waits_as_a_dead_letter()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Flags.SetFallback(ScriptedResponse.Text(403, "forbidden"));
        using var metrics = new PipelineMetrics();
        await using var scrape = await MetricsScrape.StartAsync(metrics.Meter);

        await ReplayViolationFixtureAsync(h, metrics, maxDequeueCount: 3);
        Assert.NotNull(await new RolloutGaugeReader(h.Ports.Blobs, h.Ports.Queues, TimeProvider.System, metrics).RefreshAsync());

        var families = PrometheusText.Parse(await scrape.TextAsync());
        // The Analyzer stepped the phase back to off; rollback_active is set only once the flag service accepted the
        // rollback, which it never did: the report message was dead-lettered after 3 deliveries.
        Assert.Equal(1, Value(families, "autosave_rollout_phase", "phase", "off"));
        Assert.Equal(0, Value(families, "autosave_rollback_active"));
        Assert.Equal(1, Value(families, "autosave_incidents_open"));
        Assert.Equal(1, Value(families, "autosave_dead_letters_waiting", "queue", StorePaths.ReportQueue));
        Assert.Equal(0, Value(families, "autosave_dead_letters_waiting", "queue", StorePaths.AnalyzeQueue));
    }

    [Fact]
    public async Task The_reader_counts_incidents_without_an_RCA_shows_a_pending_flag_change_and_keeps_the_last_values_when_the_state_is_unreadable()
    {
        var root = Directory.CreateTempSubdirectory("autosave-gauges-").FullName;
        try
        {
            var blobs = new global::AutoSaveRollout.Adapters.Storage.FileSystem.FileBlobStore(root);
            var now = DateTimeOffset.Parse("2026-11-20T10:00:00Z");
            var state = RolloutState.Start("B", now).RequestFlagChange(new PendingFlagChange("move-1", "B", "C", "promotion", now), now);
            Assert.NotNull(state.PendingFlagChange);
            await new JsonRecordStore<RolloutState>(blobs, StorePaths.RolloutState).UpdateAsync(_ => state);
            IncidentRecord Incident(string id, string? rca) => new()
            {
                Id = id, DedupKey = id, Kind = IncidentKinds.SloViolation, Phase = "B", WindowStart = now, TriggeredAt = now, Metric = "p95_s", Command = "x", RcaPath = rca,
            };
            await new JsonRecordStore<IncidentLedger>(blobs, StorePaths.Incidents).UpdateAsync(_ => new IncidentLedger
            {
                Incidents = [Incident("i1", null), Incident("i2", "reports/rca/2026-11-20.md"), Incident("i3", null)],
            });
            using var metrics = new PipelineMetrics();
            await using var scrape = await MetricsScrape.StartAsync(metrics.Meter);
            var reader = new RolloutGaugeReader(blobs, queues: null, TimeProvider.System, metrics);

            Assert.NotNull(await reader.RefreshAsync());
            var families = PrometheusText.Parse(await scrape.TextAsync());
            Assert.Equal(1, Value(families, "autosave_rollout_phase", "phase", "B"));
            Assert.Equal(1, Value(families, "autosave_flag_change_pending"));
            Assert.Equal(0, Value(families, "autosave_rollback_active"));
            Assert.Equal(2, Value(families, "autosave_incidents_open"));
            Assert.DoesNotContain(families, f => f.Name.StartsWith("autosave_window_", StringComparison.Ordinal)); // no decision yet

            await blobs.PutAsync(StorePaths.RolloutState, "{not json"u8.ToArray(), WriteCondition.None);
            Assert.Null(await reader.RefreshAsync());
            families = PrometheusText.Parse(await scrape.TextAsync());
            Assert.Equal(1, Value(families, "autosave_flag_change_pending"));
            Assert.Equal(2, Value(families, "autosave_incidents_open"));
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }

    [Fact]
    public async Task The_registered_refresher_reads_the_gauges_at_start_on_the_meter_of_the_hosts_meter_factory()
    {
        await using var h = await PipelineHarness.StartAsync();
        await new ReplayRunner(h.Ports, h.Policy, h.Templates).RunAsync(
            new global::AutoSaveRollout.Adapters.Telemetry.FileTelemetrySource(Policy.RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl")),
            new ReplayOptions(Phase.A, DryRun: false, TimeSpan.Zero, new QueueProcessingOptions()));
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
        builder.Services.AddSingleton(h.Ports);
        builder.Services.AddStatusGauges(); // as the Functions app registers them
        using var host = builder.Build();
        var metrics = host.Services.GetRequiredService<PipelineMetrics>();
        await using var scrape = await MetricsScrape.StartAsync(metrics.Meter);

        await host.StartAsync();
        try
        {
            IReadOnlyList<PrometheusFamily> families = [];
            for (var i = 0; i < 100 && !families.Any(f => f.Name == "autosave_rollout_phase"); i++)
            {
                await Task.Delay(100);
                families = PrometheusText.Parse(await scrape.TextAsync());
            }
            Assert.Equal(1, Value(families, "autosave_rollout_phase", "phase", "off"));
            Assert.Equal(1, Value(families, "autosave_rollback_active"));
            Assert.Equal(1.390975, Value(families, "autosave_window_p95_seconds"), 9);
        }
        finally
        {
            await host.StopAsync();
        }
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
