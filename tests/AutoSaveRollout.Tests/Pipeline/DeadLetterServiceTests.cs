using System.Text;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Observability;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Hosting.Metrics;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Pipeline;

/// <summary>
/// Dead letters end to end on one storage backend: the real <see cref="QueueProcessor"/> poisons messages (with a
/// <see cref="DeadLetterRecord"/>), and <see cref="DeadLetterService"/> lists, retries and purges them. Each test uses its own
/// source queue, so the backends can be shared.
/// </summary>
public abstract class DeadLetterServiceContract
{
    protected readonly string Source = AzuriteFixture.UniqueName("dlq");

    protected abstract IQueueFactory Queues { get; }
    protected abstract IBlobStore Blobs { get; }

    /// <summary>The clock the backend stamps insertion times with (manual for the embedded store, the real one for Azure).</summary>
    protected abstract TimeProvider StoreClock { get; }

    protected DeadLetterService Service(TimeProvider? clock = null) => new(Queues, Blobs, clock ?? StoreClock, [Source]);

    /// <summary>Lets <paramref name="time"/> pass on the backend's clock (so hidden messages reappear).</summary>
    protected abstract Task PassAsync(TimeSpan time);

    protected IMessageQueue Poison => Queues.GetQueue(QueueProcessor.PoisonQueueName(Source));

    /// <summary>Sends <paramref name="text"/> to the source queue and lets a processor fail it <paramref name="deliveries"/> times with <paramref name="error"/>.</summary>
    protected async Task PoisonAsync(string text, Exception error, int deliveries = 2, PipelineMetrics? metrics = null)
    {
        var queue = Queues.GetQueue(Source);
        await queue.CreateIfNotExistsAsync();
        await queue.SendAsync(text);
        var processor = new QueueProcessor(Queues, Source, (_, _) => throw error, new QueueProcessingOptions { MaxDequeueCount = deliveries },
            Blobs, StoreClock, deadLettered: metrics is null ? null : metrics.RecordDeadLetter);
        for (var i = 0; i < deliveries; i++) Assert.Equal(1, await processor.ProcessOnceAsync());
    }

    protected static DeliveryException Forbidden => new("flag-service", 403, isTransient: false, "HTTP 403 forbidden");
    protected static DeliveryException Unavailable => new("pagerduty", 503, isTransient: true, "HTTP 503 service unavailable");

    [Fact]
    public async Task A_poisoned_message_is_listed_with_its_last_error_deliveries_and_whether_it_was_permanent()
    {
        using var metrics = new PipelineMetrics();
        await using var scrape = await MetricsScrape.StartAsync(metrics.Meter);
        await PoisonAsync("{\"decision\":\"d1\",\"note\":\"ünïcødé & <xml>\"}", Forbidden, metrics: metrics);
        await PoisonAsync("{\"decision\":\"d2\"}", Unavailable, metrics: metrics);

        var letters = await Service().ListAsync();

        Assert.Equal(2, letters.Count);
        var permanent = Assert.Single(letters, d => d.Text.Contains("d1"));
        var transient = Assert.Single(letters, d => d.Text.Contains("d2"));
        Assert.Equal("{\"decision\":\"d1\",\"note\":\"ünïcødé & <xml>\"}", permanent.Text);
        Assert.Equal((Source, QueueProcessor.PoisonQueueName(Source)), (permanent.Queue, permanent.PoisonQueue));
        Assert.Equal((2, true), (permanent.DequeueCount, permanent.Permanent));
        Assert.Equal("DeliveryException: HTTP 403 forbidden", permanent.LastError);
        Assert.Equal(typeof(DeliveryException).FullName, permanent.Record!.ExceptionType);
        Assert.Equal(permanent.Id, permanent.Record.PoisonMessageId);
        Assert.NotEqual(permanent.Id, permanent.Record.MessageId);
        Assert.Equal((2, false), (transient.DequeueCount, transient.Permanent));
        Assert.Equal("DeliveryException: HTTP 503 service unavailable", transient.LastError);
        Assert.Contains($"autosave_dead_letters_total{{queue=\"{Source}\"}} 2", await scrape.SampleLinesAsync());
    }

    [Fact]
    public async Task Listing_leaves_every_dead_letter_in_place_and_visible()
    {
        for (var i = 0; i < 3; i++) await PoisonAsync($"m{i}", Forbidden, deliveries: 1);
        var service = Service();

        var first = await service.ListAsync();
        var second = await service.ListAsync();

        Assert.Equal(3, first.Count);
        Assert.Equal(first.Select(d => d.Id), second.Select(d => d.Id));
        var visible = await Poison.ReceiveAsync(32, TimeSpan.FromSeconds(30));
        Assert.Equal(first.Select(d => d.Id).Order(), visible.Select(m => m.Id).Order());
    }

    [Fact]
    public async Task A_record_written_by_a_queue_function_on_the_last_delivery_is_joined_to_the_runtimes_copy_by_queue_and_text()
    {
        var at = StoreClock.GetUtcNow();
        var record = DeadLetterRecord.ForLastDelivery(at, Source, "original-id", null, 5, "functions-text", new InvalidOperationException("boom"));
        await Blobs.AppendJsonLineAsync(QueueProcessor.DeadLetterLog, record);
        // Same text on another queue, and a record written long after the copy: neither joins.
        await Blobs.AppendJsonLineAsync(QueueProcessor.DeadLetterLog, record with { Queue = "other-queue", Error = "other queue" });
        await Blobs.AppendJsonLineAsync(QueueProcessor.DeadLetterLog, record with { At = at.AddHours(1), Error = "later" });
        await Poison.CreateIfNotExistsAsync();
        await Poison.SendAsync("functions-text"); // the runtime's copy: a new id
        await Poison.SendAsync("no-record-text");

        var letters = await Service().ListAsync();

        Assert.Equal(record, letters.Single(d => d.Text == "functions-text").Record);
        Assert.Equal("InvalidOperationException: boom", letters.Single(d => d.Text == "functions-text").LastError);
        Assert.Null(letters.Single(d => d.Text == "no-record-text").Record);
    }

    [Fact]
    public async Task Messages_poisoned_by_the_Functions_runtime_are_listed_with_an_unknown_error_across_receive_batches()
    {
        await Poison.CreateIfNotExistsAsync();
        for (var i = 0; i < 40; i++) await Poison.SendAsync($"runtime-{i}"); // no dead-letter log line, as the runtime writes none

        var letters = await Service().ListAsync();

        Assert.Equal(40, letters.Select(d => d.Id).Distinct().Count());
        Assert.All(letters, d =>
        {
            Assert.Null(d.Record);
            Assert.Null(d.Permanent);
            Assert.Null(d.DequeueCount);
            Assert.Equal("unknown (poisoned by the Functions runtime)", d.LastError);
        });
    }

    [Fact]
    public async Task A_queue_that_never_poisoned_anything_lists_nothing_and_purges_nothing()
    {
        var service = Service();
        Assert.Empty(await service.ListAsync());
        var purge = await service.PurgeAsync(TimeSpan.Zero);
        Assert.Equal((0, 0), (purge.Removed, purge.Kept));
        Assert.Null(await service.RetryAsync("00000000-0000-0000-0000-000000000000"));
    }

    [Fact]
    public async Task Retry_sends_the_text_back_to_its_queue_removes_the_dead_letter_and_logs_the_action()
    {
        const string text = "{\"decision\":\"d1\",\"note\":\"ünïcødé\"}";
        await PoisonAsync(text, Forbidden);
        await PoisonAsync("other", Unavailable);
        var service = new DeadLetterService(Queues, Blobs, StoreClock, [Source]) { HoldFor = TimeSpan.FromSeconds(1) };
        var target = (await service.ListAsync()).Single(d => d.Text == text);

        var result = await service.RetryAsync(target.Id);
        await PassAsync(TimeSpan.FromSeconds(2)); // anything still held by the retry would be visible again by now

        Assert.NotNull(result);
        Assert.Equal(target.Id, result.Retried.Id);
        Assert.True(result.Retried.Permanent);
        var back = Assert.Single(await Queues.GetQueue(Source).ReceiveAsync(32, TimeSpan.FromSeconds(30)));
        Assert.Equal((result.NewMessageId, text, 1), (back.Id, back.Text, back.DequeueCount));
        Assert.Equal(["other"], (await service.ListAsync()).Select(d => d.Text));
        var log = Encoding.UTF8.GetString((await Blobs.TryGetAsync(DeadLetterService.ActionLog))!.Content);
        var line = JsonNode.Parse(log.TrimEnd('\n').Split('\n').Single(l => l.Contains(target.Id)))!;
        Assert.Equal("retried", (string?)line["action"]);
        Assert.Equal(result.NewMessageId, (string?)line["new_message_id"]);
        Assert.True((bool)line["permanent"]!);
    }

    [Fact]
    public async Task Retry_of_an_unknown_id_or_in_another_queue_changes_nothing()
    {
        await PoisonAsync("keep", Forbidden);
        var service = Service();
        var id = (await service.ListAsync()).Single().Id;

        Assert.Null(await service.RetryAsync("11111111-2222-3333-4444-555555555555"));
        Assert.Null(await new DeadLetterService(Queues, Blobs, StoreClock, [Source, Source + "x"]).RetryAsync(id, Source + "x"));

        Assert.Equal([id], (await service.ListAsync()).Select(d => d.Id));
    }

    [Fact]
    public async Task Purge_removes_dead_letters_inserted_before_now_minus_the_age_and_keeps_the_rest()
    {
        await PoisonAsync("a", Forbidden, deliveries: 1);
        await PoisonAsync("b", Unavailable, deliveries: 1);
        var inserted = (await Service().ListAsync()).Max(d => d.InsertedAt);
        var fiveDaysLater = new ManualTimeProvider(inserted.AddDays(5));

        var none = await Service(fiveDaysLater).PurgeAsync(TimeSpan.FromDays(6));
        Assert.Equal((0, 2, inserted.AddDays(-1)), (none.Removed, none.Kept, none.Cutoff));
        Assert.Equal(2, (await Service().ListAsync()).Count);

        var all = await Service(fiveDaysLater).PurgeAsync(TimeSpan.FromDays(4));
        Assert.Equal((2, 0), (all.Removed, all.Kept));
        Assert.Empty(await Service().ListAsync());
        Assert.Empty(await Poison.ReceiveAsync(32, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Unreadable_or_old_log_lines_do_not_stop_the_listing()
    {
        await Blobs.AppendAsync(QueueProcessor.DeadLetterLog, "not json\n{\"queue\":\"x\"}\n"u8.ToArray());
        await PoisonAsync("after", Forbidden, deliveries: 1);

        var letter = Assert.Single(await Service().ListAsync());

        Assert.True(letter.Permanent);
    }

    [Fact]
    public void Queues_are_selected_by_name_or_poison_name_and_anything_else_is_refused()
    {
        var service = Service();
        Assert.Equal([Source], service.SelectQueues(null));
        Assert.Equal([Source], service.SelectQueues(QueueProcessor.PoisonQueueName(Source)));
        var ex = Assert.Throws<ArgumentException>(() => service.SelectQueues("autosave-nope"));
        Assert.Contains(Source, ex.Message);
        Assert.Equal([StorePaths.AnalyzeQueue, StorePaths.ReportQueue], new DeadLetterService(Queues, Blobs, StoreClock).SelectQueues(null));
    }
}

/// <summary>The dead-letter contract on the embedded store, plus what only a manual store clock can show.</summary>
public sealed class EmbeddedDeadLetterServiceTests : DeadLetterServiceContract, IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("autosave-dlq-").FullName;
    private readonly ManualTimeProvider _clock = new();

    public EmbeddedDeadLetterServiceTests()
    {
        Queues = new FileQueueFactory(_root, _clock);
        Blobs = new FileBlobStore(Path.Combine(_root, "blobs"));
    }

    protected override IQueueFactory Queues { get; }
    protected override IBlobStore Blobs { get; }
    protected override TimeProvider StoreClock => _clock;

    protected override Task PassAsync(TimeSpan time)
    {
        _clock.Advance(time);
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    [Fact]
    public async Task Purge_with_a_fake_clock_splits_old_and_recent_dead_letters()
    {
        await PoisonAsync("old", Forbidden, deliveries: 1);
        _clock.Advance(TimeSpan.FromDays(3));
        await PoisonAsync("recent", Unavailable, deliveries: 1);
        _clock.Advance(TimeSpan.FromDays(2)); // now: old is 5 days old, recent 2 days

        var result = await Service().PurgeAsync(TimeSpan.FromDays(4));

        Assert.Equal((1, 1), (result.Removed, result.Kept));
        Assert.Equal(["recent"], (await Service().ListAsync()).Select(d => d.Text));
        var log = Encoding.UTF8.GetString((await Blobs.TryGetAsync(DeadLetterService.ActionLog))!.Content);
        Assert.Contains("\"action\":\"purged\"", log);
    }

    [Fact]
    public async Task A_message_poisoned_without_being_handled_is_recorded_as_not_permanent_with_no_exception_type()
    {
        var queue = Queues.GetQueue(Source);
        await queue.CreateIfNotExistsAsync();
        await queue.SendAsync("crashed");
        for (var i = 0; i < 2; i++) // two deliveries that never finished (a crashed worker)
        {
            Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));
            _clock.Advance(TimeSpan.FromSeconds(2));
        }
        await new QueueProcessor(Queues, Source, (_, _) => Task.CompletedTask, new QueueProcessingOptions { MaxDequeueCount = 2 }, Blobs, _clock).ProcessOnceAsync();

        var letter = Assert.Single(await Service().ListAsync());

        Assert.Equal("dequeue count exceeded before processing", letter.LastError);
        Assert.Equal((false, null, 3), (letter.Permanent, letter.Record!.ExceptionType, letter.DequeueCount));
    }
}

/// <summary>The dead-letter contract on Azurite (Azure Queue and Blob storage over REST).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzuriteDeadLetterServiceTests : DeadLetterServiceContract, IDisposable
{
    private readonly HttpClient _http;

    public AzuriteDeadLetterServiceTests(AzuriteFixture azurite)
    {
        _http = azurite.CreateHttpClient();
        Queues = azurite.Queues();
        Blobs = azurite.BlobStore();
    }

    protected override IQueueFactory Queues { get; }
    protected override IBlobStore Blobs { get; }
    protected override TimeProvider StoreClock => TimeProvider.System;

    protected override Task PassAsync(TimeSpan time) => Task.Delay(time);

    public void Dispose() => _http.Dispose();
}
