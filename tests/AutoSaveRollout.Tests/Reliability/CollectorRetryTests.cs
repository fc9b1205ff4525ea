using System.Globalization;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Observability;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Hosting.Metrics;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reliability;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Tests.EndToEnd;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>
/// The Collector's window read retried against a real HTTP telemetry endpoint (Kestrel on 127.0.0.1), with the rest of the
/// pipeline and the Slack / PagerDuty / flag-service stand-ins of <see cref="PipelineHarness"/>.
/// </summary>
public sealed class CollectorRetryTests : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
    private const string Path = "/telemetry";

    private PipelineHarness _h = null!;
    private RecordingServer _telemetry = null!;
    private HttpClient _http = null!;
    private readonly SimulatedClock _clock = new(T0.AddMinutes(15).AddSeconds(5));
    private readonly List<RetryAttempt> _retries = [];

    public async Task InitializeAsync()
    {
        _h = await PipelineHarness.StartAsync();
        _telemetry = await RecordingServer.StartAsync();
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await new JsonRecordStore<RolloutState>(_h.Ports.Blobs, StorePaths.RolloutState).UpdateAsync(_ => StoredStates.Make("A"));
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _telemetry.DisposeAsync();
        await _h.DisposeAsync();
    }

    // 60 quick saves inside the requested window: an "ok" window in phase A.
    private static ScriptedResponse HealthyWindow(RecordedRequest r)
    {
        var from = DateTimeOffset.Parse(r.Query["from"], CultureInfo.InvariantCulture);
        return ScriptedResponse.JsonLines(Enumerable.Range(0, 60).Select(i =>
            $$"""{"event_id":"e-{{from:HHmm}}-{{i}}","ts":"{{from.AddSeconds(10 * i).UtcDateTime:yyyy-MM-ddTHH:mm:ssZ}}","event":"autosave.save.completed","duration_ms":{{400 + i}}}"""));
    }

    private Collector NewCollector(RetryOptions? options = null, int blockBytes = 1 << 20)
    {
        var policy = new RetryPolicy(options ?? new RetryOptions
        {
            CollectorSource = RetryLimits.CollectorSource with { Schedule = Enumerable.Repeat(TimeSpan.FromMilliseconds(10), 4).ToArray() },
        });
        policy.Retrying += a => { lock (_retries) _retries.Add(a); };
        var source = new HttpTelemetrySource(_http, new HttpTelemetrySourceOptions { Url = _telemetry.Url(Path), Token = "telemetry-t0ken-s3cr3t" });
        return new Collector(_h.Ports.Blobs, _h.Ports.Queues, _h.Ports.Locks, source, _clock,
            new CollectorOptions { Retries = policy, BlockBytes = blockBytes });
    }

    private async Task DrainAsync()
    {
        var analyzer = new Analyzer(_h.Ports.Blobs, _h.Ports.Queues, _h.Policy, _clock);
        var reporter = new Reporter(_h.Ports.Blobs, _h.Policy, _h.Templates, _h.Ports.Slack, _h.Ports.PagerDuty, _h.Ports.Flags, _clock);
        var options = new QueueProcessingOptions { VisibilityTimeout = TimeSpan.Zero };
        await new QueueProcessor(_h.Ports.Queues, StorePaths.AnalyzeQueue, (m, c) => analyzer.HandleAsync(m, c), options, _h.Ports.Blobs, _clock).DrainAsync();
        await new QueueProcessor(_h.Ports.Queues, StorePaths.ReportQueue, (m, c) => reporter.HandleAsync(m, c), options, _h.Ports.Blobs, _clock).DrainAsync();
    }

    private List<JsonNode> Lines(string path) =>
        _h.ReadStoreText(path).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();

    private async Task<RolloutState> StateAsync() =>
        (await new JsonRecordStore<RolloutState>(_h.Ports.Blobs, StorePaths.RolloutState).ReadAsync()).Value!;

    [Fact]
    public async Task The_metered_analyze_handler_that_run_uses_takes_a_give_up_message_without_failing_it()
    {
        _telemetry.SetDefault(Path, ScriptedResponse.Text(503, "upstream unavailable"));
        await Assert.ThrowsAsync<TelemetrySourceException>(() => NewCollector().CollectDueAsync());

        using var metrics = new PipelineMetrics(_clock);
        var analyzer = new Analyzer(_h.Ports.Blobs, _h.Ports.Queues, _h.Policy, _clock);
        var options = new QueueProcessingOptions { VisibilityTimeout = TimeSpan.Zero, MaxDequeueCount = 1 };
        var handled = await new QueueProcessor(_h.Ports.Queues, StorePaths.AnalyzeQueue, MeteredPipeline.AnalyzerHandler(analyzer, metrics),
            options, _h.Ports.Blobs, _clock).DrainAsync();

        Assert.Equal(1, handled);
        Assert.Equal("", _h.ReadStoreText(QueueProcessor.DeadLetterLog)); // a failure would have dead-lettered it at once
        Assert.NotEqual("", _h.ReadStoreText(StorePaths.CollectorIncident(TimeWindow.StartingAt(T0))));
    }

    [Fact]
    public async Task A_window_failing_five_times_is_logged_paged_once_and_retried_by_the_next_run_without_any_rollback()
    {
        _telemetry.SetDefault(Path, ScriptedResponse.Text(503, "upstream unavailable"));
        var collector = NewCollector();

        var ex = await Assert.ThrowsAsync<TelemetrySourceException>(() => collector.CollectDueAsync());
        Assert.Contains("HTTP 503", ex.Message);
        Assert.Equal(5, _telemetry.RequestsTo(Path).Count);       // 1 + 4 retries, each the whole window from the start
        Assert.Single(_telemetry.RequestsTo(Path).Select(r => r.QueryString).Distinct());
        Assert.Equal(4, _retries.Count);

        var failure = Assert.Single(Lines(StorePaths.RetryFailures));
        Assert.Equal(T0, failure["window_start"]!.GetValue<DateTimeOffset>());
        Assert.Equal(5, (int)failure["attempts"]!);
        Assert.Equal("retries_exhausted", (string?)failure["reason"]);
        var errors = failure["errors"]!.AsArray();
        Assert.Equal(5, errors.Count);
        Assert.All(errors, e =>
        {
            Assert.True((bool)e!["transient"]!);
            Assert.Contains("HTTP 503 upstream unavailable", (string?)e["error"]);
            Assert.NotNull(e["at"]);
        });
        Assert.NotNull(failure["first_attempt_at"]);
        Assert.NotNull(failure["gave_up_at"]);
        Assert.Null(await _h.Ports.Blobs.TryGetAsync(StorePaths.Manifest(TimeWindow.StartingAt(T0)))); // not collected
        var progress = (await new JsonRecordStore<CollectorState>(_h.Ports.Blobs, StorePaths.CollectorState).ReadAsync()).Value!;
        Assert.Null(progress.LastCollectedWindowStart);
        Assert.Equal(T0, progress.FirstWindowStart);              // the next run starts again from this window

        await DrainAsync();
        var post = Assert.Single(_h.Slack.RequestsTo(PipelineHarness.IncidentHook));
        Assert.Equal(
            "🚨 AutoSave A violation / metric=collector.retry_exhausted / window=2026-11-20T08:00Z/2026-11-20T08:15Z / rollback=none (missing data is not a violation)",
            (string?)post.JsonBody()!["text"]);
        var page = Assert.Single(_h.PagerDuty.Requests).JsonBody()!;
        Assert.Equal("trigger", (string?)page["event_action"]);
        Assert.Equal("autosave/A/20261120T0800Z/collector.retry_exhausted", (string?)page["dedup_key"]);
        Assert.Equal("collector.retry_exhausted", (string?)page["payload"]!["class"]);
        Assert.Equal(5, (int)page["payload"]!["custom_details"]!["attempts"]!);
        Assert.Empty(_h.Flags.Requests);                                   // no rollback: missing data is not a violation
        Assert.Empty(_h.Slack.RequestsTo(PipelineHarness.RolloutHook));
        Assert.Equal("", _h.ReadStoreText(StorePaths.Runbook));
        var state = await StateAsync();
        Assert.Equal("A", state.Phase);
        Assert.False(state.RollbackActive);
        Assert.Null(state.LastDecidedWindowStart);
        Assert.Null(await _h.Ports.Blobs.TryGetAsync(StorePaths.Decision(TimeWindow.StartingAt(T0))));
        Assert.NotNull(await _h.Ports.Blobs.TryGetAsync(StorePaths.CollectorIncident(TimeWindow.StartingAt(T0))));
        Assert.DoesNotContain("telemetry-t0ken-s3cr3t", _h.AllStoredText());

        // The next run gives up on the same window again: logged again, but paged only once per window.
        await Assert.ThrowsAsync<TelemetrySourceException>(() => collector.CollectDueAsync());
        Assert.Equal(2, Lines(StorePaths.RetryFailures).Count);
        await DrainAsync();
        Assert.Single(_h.Slack.RequestsTo(PipelineHarness.IncidentHook));
        Assert.Single(_h.PagerDuty.Requests);

        // The source recovers: the failed window is collected first, then the one that closed meanwhile, in order.
        _telemetry.SetDefault(Path, HealthyWindow);
        _clock.Set(T0.AddMinutes(30).AddSeconds(5));
        var collected = await collector.CollectDueAsync();
        Assert.Equal([T0, T0.AddMinutes(15)], collected.Select(m => m.WindowStart));
        Assert.Equal(60, collected[0].Counts["autosave.save.completed"]);
    }

    [Fact]
    public async Task A_window_failing_twice_then_answering_is_collected_normally_with_no_incident()
    {
        _telemetry.SetDefault(Path, HealthyWindow);
        _telemetry.Enqueue(Path, ScriptedResponse.Text(500, "boom"), ScriptedResponse.Text(429, "slow down"));
        var collector = NewCollector();

        var manifest = Assert.Single(await collector.CollectDueAsync());
        Assert.Equal(T0, manifest.WindowStart);
        Assert.Equal(60, manifest.Counts["autosave.save.completed"]);
        Assert.Equal(3, _telemetry.RequestsTo(Path).Count);
        Assert.Equal([1, 2], _retries.Select(r => r.FailedAttempt));
        Assert.All(_retries, r => Assert.Equal("collector-source", r.Target));

        await DrainAsync();
        Assert.Equal("", _h.ReadStoreText(StorePaths.RetryFailures));
        Assert.Null(await _h.Ports.Blobs.TryGetAsync(StorePaths.CollectorIncident(TimeWindow.StartingAt(T0))));
        var decision = Json.FromBytes<DecisionRecord>((await _h.Ports.Blobs.TryGetAsync(StorePaths.Decision(TimeWindow.StartingAt(T0))))!.Content);
        Assert.Equal("ok", decision.Status);
        Assert.Empty(_h.Slack.RequestsTo(PipelineHarness.IncidentHook));
        Assert.Empty(_h.PagerDuty.Requests);
        Assert.Empty(_h.Flags.Requests);
    }

    [Fact]
    public async Task A_read_that_breaks_off_mid_body_is_redone_from_the_start_without_duplicate_lines()
    {
        var requests = 0;
        _telemetry.SetHandler(Path, async (context, request) =>
        {
            var body = HealthyWindow(request).BodyBytes!;
            context.Response.ContentType = "application/x-ndjson";
            if (Interlocked.Increment(ref requests) == 1)
            {
                await context.Response.Body.WriteAsync(body.AsMemory(0, body.Length / 2));  // half the lines, then the connection drops
                await context.Response.Body.FlushAsync();
                context.Abort();
                return;
            }
            await context.Response.Body.WriteAsync(body);
        });
        // Small append blocks: the first attempt really writes part of the batch before it fails.
        var collector = NewCollector(new RetryOptions { CollectorSource = RetryLimits.CollectorSource with { Schedule = [TimeSpan.FromMilliseconds(10)] } },
            blockBytes: 256);

        var manifest = await collector.CollectWindowAsync(TimeWindow.StartingAt(T0));
        Assert.Equal(2, requests);
        Assert.Equal(60, manifest.Counts["autosave.save.completed"]);
        Assert.Equal(0, manifest.Duplicates);
        var batch = _h.ReadStoreText(manifest.BatchPath).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(60, batch.Length);
        Assert.Equal(60, batch.Distinct().Count());
    }

    [Fact]
    public async Task A_permanent_failure_is_given_up_at_once_and_reported_the_same_way()
    {
        _telemetry.SetDefault(Path, ScriptedResponse.Text(401, "unauthorized"));
        var collector = NewCollector();

        await Assert.ThrowsAsync<TelemetrySourceException>(() => collector.CollectDueAsync());
        Assert.Single(_telemetry.RequestsTo(Path));
        Assert.Empty(_retries);
        var failure = Assert.Single(Lines(StorePaths.RetryFailures));
        Assert.Equal(1, (int)failure["attempts"]!);
        Assert.Equal("permanent_error", (string?)failure["reason"]);
        Assert.False((bool)failure["errors"]![0]!["transient"]!);

        await DrainAsync();
        Assert.Single(_h.Slack.RequestsTo(PipelineHarness.IncidentHook));
        Assert.Single(_h.PagerDuty.Requests);
        Assert.Empty(_h.Flags.Requests);
    }

    [Fact]
    public async Task The_default_schedule_waits_30_60_120_240_seconds_with_jitter_and_keeps_the_collector_lock_meanwhile()
    {
        var clock = new ManualTimeProvider(T0.AddMinutes(15).AddSeconds(5));
        var locks = new FileDistributedLock(_h.StoreRoot, clock);
        var policy = new RetryPolicy(new RetryOptions { Time = clock, Random = RetryOptions.Seeded(11) });
        var delays = new List<TimeSpan>();
        policy.Retrying += a => { lock (delays) delays.Add(a.Delay); };
        var calledAt = new List<DateTimeOffset>();
        _telemetry.SetDefault(Path, _ =>
        {
            lock (calledAt) calledAt.Add(clock.GetUtcNow());
            return ScriptedResponse.Text(503, "down");
        });
        var source = new HttpTelemetrySource(_http, new HttpTelemetrySourceOptions { Url = _telemetry.Url(Path) });
        var collector = new Collector(_h.Ports.Blobs, _h.Ports.Queues, locks, source, clock, new CollectorOptions { Retries = policy });

        var run = collector.CollectDueAsync();
        var nominal = new[] { 30, 60, 120, 240 };
        for (var retry = 0; retry < nominal.Length; retry++)
        {
            // The retry's wait is armed beside the lease keep-alive's before the clock moves.
            await RetryPolicyTests.WaitUntil(() => Count(delays) == retry + 1 && clock.PendingTimerCount == 2);
            var delay = delays[retry];
            Assert.InRange(delay.TotalSeconds, 0.8 * nominal[retry], 1.2 * nominal[retry]);
            // Move in 5 s steps so that the lease keep-alive (every 20 s) runs while the retry waits.
            var moved = TimeSpan.Zero;
            while (moved + TimeSpan.FromSeconds(5) < delay)
            {
                clock.Advance(TimeSpan.FromSeconds(5));
                moved += TimeSpan.FromSeconds(5);
                await Task.Delay(5);
            }
            Assert.Null(await locks.TryAcquireAsync("collector", TimeSpan.FromSeconds(60))); // still held, though 60 s leases have passed
            Assert.Equal(retry + 1, Count(calledAt));
            clock.Advance(delay - moved);
            await RetryPolicyTests.WaitUntil(() => Count(calledAt) == retry + 2);
            Assert.Equal(delay, calledAt[retry + 1] - calledAt[retry]);
        }
        await Assert.ThrowsAsync<TelemetrySourceException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        var failure = Assert.Single(Lines(StorePaths.RetryFailures));
        Assert.Equal(5, (int)failure["attempts"]!);
        Assert.Equal(calledAt[0], failure["first_attempt_at"]!.GetValue<DateTimeOffset>());
        Assert.Equal(calledAt[^1], failure["gave_up_at"]!.GetValue<DateTimeOffset>());
        Assert.InRange((calledAt[^1] - calledAt[0]).TotalSeconds, 0.8 * 450, 1.2 * 450);
        await using var free = await locks.TryAcquireAsync("collector", TimeSpan.FromSeconds(60));
        Assert.NotNull(free);                                    // released when the run ended
    }

    [Fact]
    public async Task Losing_the_collector_lock_while_retries_wait_stops_the_run_without_giving_up_the_window()
    {
        var clock = new ManualTimeProvider(T0.AddMinutes(15).AddSeconds(5));
        var locks = new FileDistributedLock(_h.StoreRoot, clock);
        var policy = new RetryPolicy(new RetryOptions { Time = clock, Random = RetryOptions.Seeded(3) });
        var retries = 0;
        policy.Retrying += _ => Interlocked.Increment(ref retries);
        _telemetry.SetDefault(Path, ScriptedResponse.Text(503, "down"));
        var source = new HttpTelemetrySource(_http, new HttpTelemetrySourceOptions { Url = _telemetry.Url(Path) });
        var collector = new Collector(_h.Ports.Blobs, _h.Ports.Queues, locks, source, clock, new CollectorOptions { Retries = policy });

        var run = collector.CollectDueAsync();
        await RetryPolicyTests.WaitUntil(() => Volatile.Read(ref retries) == 1 && clock.PendingTimerCount == 2);
        File.Delete(System.IO.Path.Combine(_h.StoreRoot, "locks", "collector.lease")); // the lease is gone (e.g. broken by an operator)
        clock.Advance(TimeSpan.FromSeconds(20));                                        // the keep-alive's renewal fails

        var ex = await Assert.ThrowsAsync<StorageException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.StartsWith("collector lock lost while collecting", ex.Message);
        Assert.Single(_telemetry.RequestsTo(Path));               // no further attempt once the lock is lost
        Assert.Equal("", _h.ReadStoreText(StorePaths.RetryFailures)); // not a give-up: another instance may be collecting it
    }

    private static int Count<T>(List<T> list)
    {
        lock (list) return list.Count;
    }
}
