using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Pipeline;

public sealed class CollectorTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("autosave-collector-").FullName;
    private readonly SimulatedClock _clock = new(new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero));
    private readonly FileBlobStore _blobs;
    private readonly FileQueueFactory _queues;
    private readonly FileDistributedLock _locks;

    public CollectorTests()
    {
        _blobs = new FileBlobStore(Path.Combine(_root, "blobs"));
        _queues = new FileQueueFactory(_root, TimeProvider.System);
        _locks = new FileDistributedLock(_root, _clock);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);

    private Collector Create(ITelemetrySource source) => new(_blobs, _queues, _locks, source, _clock);

    private async Task<List<JsonNode>> AnalyzeMessagesAsync()
    {
        var q = _queues.GetQueue(StorePaths.AnalyzeQueue);
        var all = new List<JsonNode>();
        IReadOnlyList<QueueMessage> batch;
        while ((batch = await q.ReceiveAsync(32, TimeSpan.FromMinutes(5))).Count > 0)
            foreach (var m in batch) { all.Add(JsonNode.Parse(m.Text)!); await q.DeleteAsync(m); }
        return all;
    }

    [Fact]
    public async Task First_run_collects_the_last_closed_window_then_back_fills_missed_windows_in_order()
    {
        var collector = Create(new FileTelemetrySource(RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_clean.jsonl")));
        _clock.Set(T0.AddMinutes(15).AddSeconds(2));               // 08:15:02: window 08:00 has closed
        var first = await collector.CollectDueAsync();
        Assert.Equal([T0], first.Select(m => m.WindowStart));
        Assert.Equal(2, first[0].CollectorLatencyS);

        _clock.Set(T0.AddMinutes(75).AddSeconds(30));              // host was down: 08:15, 08:30, 08:45, 09:00 closed since
        var backfill = await collector.CollectDueAsync();
        Assert.Equal([T0.AddMinutes(15), T0.AddMinutes(30), T0.AddMinutes(45), T0.AddMinutes(60)], backfill.Select(m => m.WindowStart));
        Assert.Equal(45 * 60 + 30, backfill[0].CollectorLatencyS);    // the 08:15 window ended 08:30; written 09:15:30
        Assert.Equal(["collector.delayed"], backfill[0].Events);
        Assert.Empty(backfill[^1].Events);                           // 09:00 window: 30 s late

        var messages = await AnalyzeMessagesAsync();
        Assert.Equal(5, messages.Count);
        Assert.Equal("autosave/2026/11/20/0800.manifest.json", (string?)messages[0]["manifest"]);
        Assert.Equal("batch.collected", (string?)messages[0]["type"]);

        var (state, _) = await new JsonRecordStore<CollectorState>(_blobs, StorePaths.CollectorState).ReadAsync();
        Assert.Equal(T0.AddMinutes(60), state!.LastCollectedWindowStart);
        Assert.Empty(await collector.CollectDueAsync());             // nothing new has closed
    }

    [Fact]
    public async Task A_second_instance_does_not_collect_while_the_lock_is_held()
    {
        var collector = Create(new FileTelemetrySource(RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_clean.jsonl")));
        _clock.Set(T0.AddMinutes(16));
        await using (var held = await _locks.TryAcquireAsync("collector", TimeSpan.FromSeconds(60)))
        {
            Assert.NotNull(held);
            Assert.Empty(await collector.CollectDueAsync());
        }
        Assert.Single(await collector.CollectDueAsync());
    }

    [Fact]
    public async Task A_window_is_collected_once_and_its_batch_is_normalised_and_hashed()
    {
        var file = Path.Combine(_root, "in.jsonl");
        File.WriteAllText(file, string.Join("\n",
            """{"event_id":"a","ts":"2026-11-20T17:00:01+09:00","event":"autosave.save.completed","duration_ms":812.5,"extra":1}""",
            """{"event_id":"a","ts":"2026-11-20T08:00:02Z","event":"autosave.save.completed","duration_ms":1}""",
            """{"event_id":"b","ts":"2026-11-20T08:00:03Z","event":"autosave.save.error","retryable":true,"error_code":"EIO"}""",
            """{"event_id":"c","ts":"2026-11-20T08:00:04Z","event":"autosave.save.started"}""",
            """{"event_id":"d","ts":"2026-11-20T08:00:05Z","event":"autosave.save.completed","duration_ms":"9"}"""));
        var collector = Create(new FileTelemetrySource(file));
        _clock.Set(T0.AddMinutes(15));
        var m = await collector.CollectWindowAsync(TimeWindow.StartingAt(T0));

        Assert.Equal(1, m.Counts["autosave.save.completed"]);
        Assert.Equal(1, m.Counts["autosave.save.error"]);
        Assert.Equal(1, m.Duplicates);
        Assert.Equal(1, m.Ignored["autosave.save.started"]);
        Assert.Equal(1, m.Rejected);
        var batch = System.Text.Encoding.UTF8.GetString((await _blobs.TryGetAsync(m.BatchPath))!.Content);
        Assert.Equal(
            """{"event_id":"a","ts":"2026-11-20T08:00:01Z","event":"autosave.save.completed","duration_ms":812.5}""" + "\n" +
            """{"event_id":"b","ts":"2026-11-20T08:00:03Z","event":"autosave.save.error","retryable":true,"error_code":"EIO"}""" + "\n",
            batch);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(batch))), m.BatchSha256);
        var rejected = JsonNode.Parse(System.Text.Encoding.UTF8.GetString((await _blobs.TryGetAsync(m.RejectedPath!))!.Content))!;
        Assert.Equal(5, (int)rejected["line"]!);
        Assert.Equal("duration_ms: expected a number, got string", (string?)rejected["reason"]);

        // Collected once: a second collection returns the same manifest and does not rewrite the batch.
        File.AppendAllText(file, "\n" + """{"event_id":"z","ts":"2026-11-20T08:01:00Z","event":"autosave.save.completed","duration_ms":5}""");
        var again = await collector.CollectWindowAsync(TimeWindow.StartingAt(T0));
        Assert.Equal(m.BatchSha256, again.BatchSha256);
        Assert.Equal(m.WrittenAt, again.WrittenAt);
    }

    [Fact]
    public async Task The_http_source_is_asked_for_exactly_the_window_and_out_of_window_lines_are_quarantined()
    {
        await using var server = await RecordingServer.StartAsync();
        server.ServeJsonLines("/telemetry", _ =>
        [
            """{"event_id":"a","ts":"2026-11-20T08:14:59.999Z","event":"autosave.save.completed","duration_ms":100}""",
            """{"event_id":"b","ts":"2026-11-20T08:15:00Z","event":"autosave.save.completed","duration_ms":100}""",
        ]);
        using var http = new HttpClient();
        var source = new HttpTelemetrySource(http, new HttpTelemetrySourceOptions { Url = server.Url("/telemetry") });
        _clock.Set(T0.AddMinutes(15));
        var m = await Create(source).CollectWindowAsync(TimeWindow.StartingAt(T0));

        var request = Assert.Single(server.RequestsTo("/telemetry"));
        Assert.Equal("?from=2026-11-20T08%3A00%3A00Z&to=2026-11-20T08%3A15%3A00Z", request.QueryString);
        Assert.Equal(1, m.Counts["autosave.save.completed"]);
        Assert.Equal(1, m.Rejected);
        var rejected = JsonNode.Parse(System.Text.Encoding.UTF8.GetString((await _blobs.TryGetAsync(m.RejectedPath!))!.Content))!;
        Assert.Equal(2, (int)rejected["line"]!);
        Assert.StartsWith("ts 2026-11-20T08:15:00Z outside the requested window", (string?)rejected["reason"]);
    }

    [Fact]
    public async Task The_file_source_places_lines_without_a_readable_ts_beside_their_neighbours()
    {
        var file = Path.Combine(_root, "mixed.jsonl");
        File.WriteAllText(file, string.Join("\n",
            "garbage before anything",                                                                          // 1 → 08:00 (first placeable below)
            """{"event_id":"a","ts":"2026-11-20T08:00:01Z","event":"autosave.save.completed","duration_ms":1}""", // 2
            """{"event_id":"b","ts":"2026-11-20T08:15:01Z","event":"autosave.save.completed","duration_ms":1}""", // 3
            "{not json",                                                                                          // 4 → 08:15 (line above)
            """{"event_id":"c","ts":"2026-11-20T08:00:02Z","event":"autosave.save.completed","duration_ms":1}""", // 5 (out of order)
            "") + "\r\n");
        var source = new FileTelemetrySource(file);
        var coverage = await source.GetCoverageAsync();
        Assert.Equal((TimeWindow.StartingAt(T0), TimeWindow.StartingAt(T0.AddMinutes(15))), coverage);

        async Task<long[]> LinesOf(DateTimeOffset start)
        {
            var lines = new List<long>();
            await foreach (var l in source.ReadWindowAsync(TimeWindow.StartingAt(start))) lines.Add(l.LineNumber);
            return lines.ToArray();
        }
        Assert.Equal(new long[] { 1, 2, 5, 6 }, await LinesOf(T0)); // line 6 is the trailing blank line (CRLF), beside line 5
        Assert.Equal(new long[] { 3, 4 }, await LinesOf(T0.AddMinutes(15)));
        Assert.Empty(await LinesOf(T0.AddMinutes(30)));
    }

    [Fact]
    public async Task State_updates_use_etags_so_concurrent_writers_lose_no_update()
    {
        var store = new JsonRecordStore<CollectorState>(_blobs, "state/counter.json");
        var start = T0;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            for (var i = 0; i < 10; i++)
                await store.UpdateAsync(s => new CollectorState { LastCollectedWindowStart = (s?.LastCollectedWindowStart ?? start).AddMinutes(1) });
        })));
        var (final, etag) = await store.ReadAsync();
        Assert.Equal(start.AddMinutes(80), final!.LastCollectedWindowStart);
        Assert.NotNull(etag);
    }
}
