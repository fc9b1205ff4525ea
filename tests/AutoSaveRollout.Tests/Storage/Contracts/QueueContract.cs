using System.Diagnostics;
using System.Text;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Tests.Storage.Contracts;

/// <summary>
/// Behaviour every <see cref="IQueueFactory"/>/<see cref="IMessageQueue"/> must show (embedded files, Azure, Azurite).
/// The backend runs on real time — Azure cannot be given a fake clock — so tests that depend on visibility use real
/// timeouts of 1–2 s (Azure's minimum for Get Messages is 1 s) and poll for at most <see cref="ReappearWithin"/>.
/// Fake-clock tests for the embedded queue live in its own test class. Each test uses a fresh queue name.
/// </summary>
public abstract class QueueContract
{
    /// <summary>The queues under test, on the backend's real clock. May be called more than once; all calls reach the same backend.</summary>
    protected abstract IQueueFactory CreateQueues();

    /// <summary>A queue name no other test uses: <c>q</c> + 20 hex digits.</summary>
    protected virtual string NewQueueName() => "q" + Guid.NewGuid().ToString("N")[..20];

    /// <summary>Upper bound for a hidden message to become visible again after its timeout (generous for slow CI and clock skew).</summary>
    protected virtual TimeSpan ReappearWithin => TimeSpan.FromSeconds(20);

    private static readonly TimeSpan Long = TimeSpan.FromSeconds(60);

    private async Task<IMessageQueue> NewQueueAsync()
    {
        var queue = CreateQueues().GetQueue(NewQueueName());
        await queue.CreateIfNotExistsAsync();
        return queue;
    }

    /// <summary>Receives until a message arrives or <see cref="ReappearWithin"/> passes (polling every 100 ms).</summary>
    private async Task<QueueMessage?> ReceiveWithin(IMessageQueue queue, TimeSpan visibilityTimeout)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < ReappearWithin)
        {
            var got = await queue.ReceiveAsync(1, visibilityTimeout);
            if (got.Count > 0)
                return got[0];
            await Task.Delay(100);
        }
        return null;
    }

    [Fact]
    public async Task Clear_removes_visible_and_in_flight_messages_for_good()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("visible");
        await queue.SendAsync("in flight");
        Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1))); // hidden for 1 s

        await queue.ClearAsync();

        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < TimeSpan.FromSeconds(3)) // the hidden one's timeout passes, and it does not come back
        {
            Assert.Empty(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));
            await Task.Delay(200);
        }
        await CreateQueues().GetQueue(NewQueueName()).ClearAsync();          // a missing queue counts as empty
    }

    [Fact]
    public async Task Send_then_receive_returns_the_text_with_dequeue_count_one()
    {
        var queue = await NewQueueAsync();
        var before = DateTimeOffset.UtcNow;

        var id = await queue.SendAsync("collect 2026-11-20T10:15:00Z");
        var received = await queue.ReceiveAsync(1, Long);

        var message = Assert.Single(received);
        Assert.Equal(id, message.Id);
        Assert.Equal("collect 2026-11-20T10:15:00Z", message.Text);
        Assert.Equal(1, message.DequeueCount);
        Assert.False(string.IsNullOrEmpty(message.PopReceipt));
        Assert.InRange(message.InsertedAt, before.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5)); // backend clock may be skewed
    }

    [Fact]
    public async Task Text_with_xml_special_characters_and_non_ascii_round_trips()
    {
        var queue = await NewQueueAsync();
        const string text = "<msg a=\"1\">&amp; 'quoted' ü € 🎉 \\ / + = </msg>\n{\"json\":true}";

        await queue.SendAsync(text);

        Assert.Equal(text, Assert.Single(await queue.ReceiveAsync(1, Long)).Text);
    }

    [Fact]
    public async Task Receive_on_an_empty_queue_returns_nothing()
    {
        var queue = await NewQueueAsync();
        Assert.Empty(await queue.ReceiveAsync(32, Long));
    }

    [Fact]
    public async Task Messages_are_received_in_insertion_order()
    {
        var queue = await NewQueueAsync();
        var ids = new List<string>();
        for (var i = 0; i < 10; i++)
            ids.Add(await queue.SendAsync($"m{i}"));

        var received = new List<QueueMessage>();
        for (var batch = 0; batch < 10 && received.Count < 10; batch++)
            received.AddRange(await queue.ReceiveAsync(4, Long));

        Assert.Equal(ids, received.Select(m => m.Id));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"m{i}"), received.Select(m => m.Text));
    }

    [Fact]
    public async Task Receive_takes_at_most_max_messages()
    {
        var queue = await NewQueueAsync();
        for (var i = 0; i < 5; i++)
            await queue.SendAsync($"m{i}");

        Assert.Equal(3, (await queue.ReceiveAsync(3, Long)).Count);
        Assert.Equal(2, (await queue.ReceiveAsync(32, Long)).Count);
        Assert.Empty(await queue.ReceiveAsync(32, Long));
    }

    [Fact]
    public async Task A_received_message_is_hidden_then_reappears_with_dequeue_count_two_and_a_new_receipt()
    {
        var queue = await NewQueueAsync();
        var id = await queue.SendAsync("retry me");

        var first = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(2)));
        Assert.Empty(await queue.ReceiveAsync(32, Long));
        var second = await ReceiveWithin(queue, Long);

        Assert.NotNull(second);
        Assert.Equal(id, second.Id);
        Assert.Equal("retry me", second.Text);
        Assert.Equal(1, first.DequeueCount);
        Assert.Equal(2, second.DequeueCount);
        Assert.NotEqual(first.PopReceipt, second.PopReceipt);
        Assert.Equal(first.InsertedAt, second.InsertedAt);
    }

    [Fact]
    public async Task An_initial_visibility_delay_hides_a_new_message_until_it_passes()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("later", TimeSpan.FromSeconds(2));

        Assert.Empty(await queue.ReceiveAsync(32, Long));
        var message = await ReceiveWithin(queue, Long);

        Assert.NotNull(message);
        Assert.Equal("later", message.Text);
        Assert.Equal(1, message.DequeueCount);
    }

    [Fact]
    public async Task Delete_with_the_current_receipt_removes_the_message_for_good()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("done soon");
        await queue.SendAsync("stays");

        var message = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));
        await queue.DeleteAsync(message);
        await Task.Delay(TimeSpan.FromSeconds(2.5)); // past the 1 s visibility timeout

        var rest = await queue.ReceiveAsync(32, Long);
        Assert.Equal(["stays"], rest.Select(m => m.Text));
    }

    [Fact]
    public async Task Delete_twice_reports_message_not_found()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("x");
        var message = Assert.Single(await queue.ReceiveAsync(1, Long));
        await queue.DeleteAsync(message);

        var ex = await Assert.ThrowsAsync<StorageException>(() => queue.DeleteAsync(message));

        Assert.Equal((404, "MessageNotFound", false), (ex.Status, ex.ErrorCode, ex.IsTransient));
    }

    [Fact]
    public async Task Update_visibility_returns_a_new_receipt_and_the_old_one_stops_working()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("x");
        var received = Assert.Single(await queue.ReceiveAsync(1, Long));

        var updated = await queue.UpdateVisibilityAsync(received, Long);

        Assert.Equal(received.Id, updated.Id);
        Assert.Equal("x", updated.Text);
        Assert.Equal(1, updated.DequeueCount);
        Assert.NotEqual(received.PopReceipt, updated.PopReceipt);
        var staleDelete = await Assert.ThrowsAsync<StorageException>(() => queue.DeleteAsync(received));
        Assert.Equal((400, "PopReceiptMismatch"), (staleDelete.Status, staleDelete.ErrorCode));
        var staleUpdate = await Assert.ThrowsAsync<StorageException>(() => queue.UpdateVisibilityAsync(received, TimeSpan.Zero));
        Assert.Equal((400, "PopReceiptMismatch"), (staleUpdate.Status, staleUpdate.ErrorCode));
        Assert.Empty(await queue.ReceiveAsync(32, Long)); // still hidden: the stale update changed nothing
        await queue.DeleteAsync(updated);
    }

    [Fact]
    public async Task Update_visibility_to_zero_releases_the_message_at_once()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("again");
        var received = Assert.Single(await queue.ReceiveAsync(1, Long));

        await queue.UpdateVisibilityAsync(received, TimeSpan.Zero);
        var again = await ReceiveWithin(queue, Long);

        Assert.NotNull(again);
        Assert.Equal(received.Id, again.Id);
        Assert.Equal(2, again.DequeueCount);
        var stale = await Assert.ThrowsAsync<StorageException>(() => queue.DeleteAsync(received));
        Assert.Equal(400, stale.Status);
        await queue.DeleteAsync(again);
    }

    [Fact]
    public async Task A_receipt_goes_stale_when_the_message_is_received_again()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("x");
        var first = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));
        var second = await ReceiveWithin(queue, Long);
        Assert.NotNull(second);

        var ex = await Assert.ThrowsAsync<StorageException>(() => queue.DeleteAsync(first));

        Assert.Equal((400, "PopReceiptMismatch"), (ex.Status, ex.ErrorCode));
        await queue.DeleteAsync(second);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    [InlineData(-1)]
    public async Task Receive_max_outside_1_to_32_is_rejected(int max)
    {
        var queue = await NewQueueAsync();
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(max, Long));
    }

    [Fact]
    public async Task Text_over_64_KiB_of_utf8_is_rejected()
    {
        var queue = await NewQueueAsync();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => queue.SendAsync(new string('x', 65_537)));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => queue.SendAsync(new string('ü', 32_769))); // 65,538 bytes
        Assert.Empty(await queue.ReceiveAsync(32, Long));
    }

    [Fact]
    public async Task Sending_to_a_queue_that_was_never_created_reports_queue_not_found()
    {
        var queue = CreateQueues().GetQueue(NewQueueName());

        var ex = await Assert.ThrowsAsync<StorageException>(() => queue.SendAsync("x"));

        Assert.Equal((404, "QueueNotFound"), (ex.Status, ex.ErrorCode));
    }

    [Fact]
    public async Task Create_if_not_exists_is_idempotent_and_keeps_messages()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("kept");

        await queue.CreateIfNotExistsAsync();

        Assert.Equal("kept", Assert.Single(await queue.ReceiveAsync(1, Long)).Text);
    }

    [Fact]
    public async Task Queues_with_different_names_are_independent_and_handles_to_one_name_share_messages()
    {
        var factory = CreateQueues();
        var name = NewQueueName();
        var a = factory.GetQueue(name);
        var b = factory.GetQueue(NewQueueName());
        await a.CreateIfNotExistsAsync();
        await b.CreateIfNotExistsAsync();

        await a.SendAsync("for a");

        Assert.Equal(name, a.Name);
        Assert.Empty(await b.ReceiveAsync(32, Long));
        Assert.Equal("for a", Assert.Single(await CreateQueues().GetQueue(name).ReceiveAsync(32, Long)).Text);
    }

    [Theory]
    [InlineData("Upper")]
    [InlineData("ab")]
    [InlineData("has_underscore")]
    [InlineData("double--dash")]
    [InlineData("-leading")]
    [InlineData("")]
    public void Invalid_queue_names_are_rejected(string name)
    {
        Assert.ThrowsAny<ArgumentException>(() => CreateQueues().GetQueue(name));
    }

    [Fact]
    public async Task Concurrent_receivers_never_get_the_same_message_while_it_is_hidden()
    {
        var queue = await NewQueueAsync();
        var sent = new HashSet<string>();
        for (var i = 0; i < 24; i++)
            sent.Add(await queue.SendAsync($"m{i}"));

        var factory = CreateQueues();
        var received = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var mine = new List<string>();
            var q = factory.GetQueue(queue.Name);
            while (true)
            {
                var batch = await q.ReceiveAsync(5, Long);
                if (batch.Count == 0)
                    return mine;
                mine.AddRange(batch.Select(m => m.Id));
            }
        })));

        var all = received.SelectMany(r => r).ToList();
        Assert.Equal(24, all.Count);
        Assert.Equal(sent, all.ToHashSet());
    }
}
