using System.Text;
using System.Text.Json;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Storage.Contracts;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Adapters.Storage.FileSystem;

/// <summary>The queue contract against <see cref="FileQueueFactory"/> on the system clock and a fresh temp directory per test.</summary>
public sealed class FileSystemQueueContractTests : QueueContract, IDisposable
{
    private readonly TempRoot _root = new();

    /// <inheritdoc />
    protected override IQueueFactory CreateQueues() => new FileQueueFactory(_root.Path, TimeProvider.System);

    /// <inheritdoc />
    public void Dispose() => _root.Dispose();
}

/// <summary>File-queue behaviour on a manual clock, its file layout, limits, crash leftovers and cross-instance safety.</summary>
public sealed class FileQueueTests : IDisposable
{
    private readonly TempRoot _root = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _root.Dispose();

    private async Task<FileMessageQueue> NewQueueAsync(string name = "work")
    {
        var queue = new FileQueueFactory(_root.Path, _time).GetFileQueue(name);
        await queue.CreateIfNotExistsAsync();
        return queue;
    }

    [Fact]
    public async Task Visibility_timeout_follows_the_injected_clock_to_the_tick()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("x");

        var first = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));
        _time.Advance(TimeSpan.FromSeconds(30) - TimeSpan.FromTicks(1));
        Assert.Empty(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30)));
        _time.Advance(TimeSpan.FromTicks(1));
        var second = Assert.Single(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30)));

        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2, second.DequeueCount);
    }

    [Fact]
    public async Task Dequeue_count_grows_by_one_per_receive_and_insertion_time_comes_from_the_clock()
    {
        var queue = await NewQueueAsync();
        var sentAt = _time.GetUtcNow();
        await queue.SendAsync("x");

        for (var expected = 1; expected <= 5; expected++)
        {
            _time.Advance(TimeSpan.FromMinutes(1));
            var m = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(10)));
            Assert.Equal(expected, m.DequeueCount);
            Assert.Equal(sentAt, m.InsertedAt);
        }
    }

    [Fact]
    public async Task Fifo_holds_for_many_messages_sent_in_the_same_clock_tick_and_after_deletes()
    {
        var queue = await NewQueueAsync();
        var ids = new List<string>();
        for (var i = 0; i < 50; i++)
            ids.Add(await queue.SendAsync($"m{i}"));

        // Delete the newest; later sends must still come after the remaining older ones.
        _time.Advance(TimeSpan.FromSeconds(1));
        var all = new List<QueueMessage>();
        all.AddRange(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(5)));
        all.AddRange(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(5)));
        Assert.Equal(ids, all.Select(m => m.Id));
        await queue.DeleteAsync(all[^1]);
        ids.RemoveAt(ids.Count - 1);
        ids.Add(await queue.SendAsync("late"));

        _time.Advance(TimeSpan.FromSeconds(5));
        var again = new List<QueueMessage>();
        again.AddRange(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(5)));
        again.AddRange(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(5)));
        Assert.Equal(ids, again.Select(m => m.Id));
    }

    [Fact]
    public async Task A_hidden_message_does_not_block_later_visible_ones()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("first");
        await queue.SendAsync("second", TimeSpan.FromMinutes(5));
        await queue.SendAsync("third");

        var got = await queue.ReceiveAsync(32, TimeSpan.FromMinutes(1));
        Assert.Equal(["first", "third"], got.Select(m => m.Text));

        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(["first", "second", "third"], (await queue.ReceiveAsync(32, TimeSpan.FromMinutes(1))).Select(m => m.Text));
    }

    [Fact]
    public async Task Update_visibility_hides_for_the_new_timeout_from_now()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("x");
        var m = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));

        _time.Advance(TimeSpan.FromSeconds(20));
        var updated = await queue.UpdateVisibilityAsync(m, TimeSpan.FromMinutes(10));
        _time.Advance(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Assert.Empty(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30)));
        _time.Advance(TimeSpan.FromSeconds(1));

        var back = Assert.Single(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30)));
        Assert.Equal(2, back.DequeueCount);
        Assert.Equal(1, updated.DequeueCount);
    }

    [Fact]
    public async Task An_expired_but_not_re_received_message_can_still_be_deleted_with_its_receipt()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("x");
        var m = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));
        _time.Advance(TimeSpan.FromMinutes(5));

        await queue.DeleteAsync(m); // Azure keeps the receipt valid until the next receive

        Assert.Empty(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task Unknown_or_malformed_ids_report_message_not_found()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("x");
        var m = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));

        foreach (var id in new[] { Guid.NewGuid().ToString("D"), "*", "../x", "" })
        {
            var ex = await Assert.ThrowsAsync<StorageException>(() => queue.DeleteAsync(m with { Id = id }));
            Assert.Equal((404, "MessageNotFound"), (ex.Status, ex.ErrorCode));
        }
        await queue.DeleteAsync(m);
    }

    [Fact]
    public async Task Receiving_or_updating_on_a_missing_queue_reports_queue_not_found()
    {
        var queue = new FileQueueFactory(_root.Path, _time).GetQueue("never-created");
        var fake = new QueueMessage(Guid.NewGuid().ToString("D"), "r", "t", 1, _time.GetUtcNow());

        foreach (var op in new Func<Task>[]
                 {
                     () => queue.ReceiveAsync(1, TimeSpan.FromSeconds(5)),
                     () => queue.DeleteAsync(fake),
                     () => queue.UpdateVisibilityAsync(fake, TimeSpan.Zero),
                 })
        {
            var ex = await Assert.ThrowsAsync<StorageException>(op);
            Assert.Equal((404, "QueueNotFound", false), (ex.Status, ex.ErrorCode, ex.IsTransient));
        }
        Assert.False(Directory.Exists(Path.Combine(_root.Path, "queues", "never-created")));
    }

    [Fact]
    public async Task Text_of_exactly_64_KiB_is_accepted_and_round_trips()
    {
        var queue = await NewQueueAsync();
        var ascii = new string('a', 65_536);
        var multiByte = new string('€', 21_845) + "a"; // 3 bytes each: 65,535 + 1

        await queue.SendAsync(ascii);
        await queue.SendAsync(multiByte);

        var got = await queue.ReceiveAsync(2, TimeSpan.FromSeconds(5));
        Assert.Equal([ascii, multiByte], got.Select(m => m.Text));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0)]
    [InlineData(604_801)]
    public async Task Receive_visibility_outside_1s_to_7_days_is_rejected(double seconds)
    {
        var queue = await NewQueueAsync();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(1, TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public async Task Negative_or_overlong_delays_are_rejected()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("x");
        var m = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(5)));

        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.SendAsync("y", TimeSpan.FromSeconds(-1)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.SendAsync("y", TimeSpan.FromDays(8)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.UpdateVisibilityAsync(m, TimeSpan.FromSeconds(-1)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.UpdateVisibilityAsync(m, TimeSpan.FromDays(8)));
    }

    [Fact]
    public async Task Each_message_is_one_json_file_named_by_sequence_and_id()
    {
        var queue = await NewQueueAsync("layout");
        var id1 = await queue.SendAsync("one");
        var id2 = await queue.SendAsync("two");

        var dir = Path.Combine(_root.Path, "queues", "layout");
        Assert.Equal(dir, queue.DirectoryPath);
        var files = Directory.GetFiles(dir, "*.msg").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal([$"{1:D19}_{id1}.msg", $"{2:D19}_{id2}.msg"], files);
        using var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(dir, files[0]!)));
        Assert.Equal("one", doc.RootElement.GetProperty("Text").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("DequeueCount").GetInt32());
        Assert.Empty(Directory.GetFiles(dir, "*.tmp"));
    }

    [Fact]
    public async Task Crash_leftovers_are_ignored_and_a_damaged_message_file_is_set_aside()
    {
        var queue = await NewQueueAsync("crashy");
        await queue.SendAsync("good-1");
        var dir = queue.DirectoryPath;
        // A temp file from a crash mid-write, and a message file damaged on disk.
        await File.WriteAllTextAsync(Path.Combine(dir, $"{5:D19}_{Guid.NewGuid():D}.msg.~{Guid.NewGuid():N}.tmp"), "{\"Id\":");
        var damaged = Path.Combine(dir, $"{0:D19}_{Guid.NewGuid():D}.msg");
        await File.WriteAllTextAsync(damaged, "not json");
        await queue.SendAsync("good-2");

        var got = await queue.ReceiveAsync(32, TimeSpan.FromSeconds(5));

        Assert.Equal(["good-1", "good-2"], got.Select(m => m.Text));
        Assert.True(File.Exists(damaged + ".corrupt"));
        Assert.False(File.Exists(damaged));
    }

    [Fact]
    public async Task State_survives_a_new_factory_as_after_a_restart()
    {
        var queue = await NewQueueAsync("durable");
        await queue.SendAsync("a");
        await queue.SendAsync("b");
        var a = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromMinutes(1)));

        var reopened = new FileQueueFactory(_root.Path, _time).GetQueue("durable");
        var b = Assert.Single(await reopened.ReceiveAsync(32, TimeSpan.FromMinutes(1)));
        await reopened.DeleteAsync(a); // receipt issued by the first instance still valid
        _time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal("b", b.Text);
        var back = Assert.Single(await reopened.ReceiveAsync(32, TimeSpan.FromMinutes(1)));
        Assert.Equal(("b", 2), (back.Text, back.DequeueCount));
    }

    [Fact]
    public async Task Two_factories_on_one_root_deliver_each_message_exactly_once_under_concurrency()
    {
        // Separate factories share no in-process gate: only the queue's OS lock file orders them (stand-in for two processes).
        var factories = new[] { new FileQueueFactory(_root.Path, _time), new FileQueueFactory(_root.Path, _time) };
        await factories[0].GetQueue("shared").CreateIfNotExistsAsync();

        var sentIds = await Task.WhenAll(Enumerable.Range(0, 60).Select(i => Task.Run(() =>
            factories[i % 2].GetQueue("shared").SendAsync($"m{i}"))));
        Assert.Equal(60, sentIds.Distinct().Count());

        var received = await Task.WhenAll(Enumerable.Range(0, 6).Select(w => Task.Run(async () =>
        {
            var q = factories[w % 2].GetQueue("shared");
            var mine = new List<QueueMessage>();
            while (true)
            {
                var batch = await q.ReceiveAsync(4, TimeSpan.FromMinutes(5));
                if (batch.Count == 0)
                    return mine;
                mine.AddRange(batch);
                foreach (var m in batch)
                    await q.DeleteAsync(m);
            }
        })));

        var all = received.SelectMany(r => r).ToList();
        Assert.Equal(60, all.Count);
        Assert.Equal(sentIds.ToHashSet(), all.Select(m => m.Id).ToHashSet());
        Assert.All(all, m => Assert.Equal(1, m.DequeueCount));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root.Path, "queues", "shared"), "*.msg"));
    }

    [Fact]
    public async Task A_queue_lock_held_by_another_process_blocks_sends_until_released()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/flock"))
            return;
        var queue = await NewQueueAsync("xproc");

        using var holder = FileBlobStoreTests.StartFlockHolder(Path.Combine(queue.DirectoryPath, ".lock"), holdSeconds: 2);
        var send = queue.SendAsync("x");
        await Task.Delay(700);
        Assert.False(send.IsCompleted, "send completed while another process held the queue lock");

        await send.WaitAsync(TimeSpan.FromSeconds(15));
        await holder.WaitForExitAsync();
        Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(5)));
    }
}
