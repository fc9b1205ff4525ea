using Azure.Storage.Queues;
using System.Text;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Azure;

[Collection(AzuriteCollection.Name)]
public sealed class AzureQueueAzuriteTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly TimeSpan Hidden = TimeSpan.FromSeconds(30);
    private readonly HttpClient _http = azurite.CreateHttpClient();

    public void Dispose() => _http.Dispose();

    private async Task<IMessageQueue> NewQueueAsync(QueueMessageEncoding encoding = QueueMessageEncoding.Base64)
    {
        var queue = azurite.Queues(encoding).GetQueue(AzuriteFixture.UniqueName("q"));
        await queue.CreateIfNotExistsAsync();
        return queue;
    }

    [Fact]
    public async Task Create_is_idempotent()
    {
        var queue = await NewQueueAsync();
        await queue.CreateIfNotExistsAsync();
        await queue.CreateIfNotExistsAsync();
    }

    [Fact]
    public async Task Send_then_receive_returns_text_id_dequeue_count_and_insertion_time()
    {
        var queue = await NewQueueAsync();
        var before = DateTimeOffset.UtcNow.AddSeconds(-2);
        const string text = "{\"window\":\"2026-11-20T10:15:00Z\",\"note\":\"ünïcødé & <xml> 'quotes' 🚀\"}";

        var id = await queue.SendAsync(text);
        var received = Assert.Single(await queue.ReceiveAsync(32, Hidden));

        Assert.Equal(id, received.Id);
        Assert.Equal(text, received.Text);
        Assert.Equal(1, received.DequeueCount);
        Assert.False(string.IsNullOrEmpty(received.PopReceipt));
        Assert.InRange(received.InsertedAt, before, DateTimeOffset.UtcNow.AddSeconds(2));
    }

    [Fact]
    public async Task A_received_message_is_hidden_until_made_visible_again_and_counts_dequeues()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("job");
        var first = Assert.Single(await queue.ReceiveAsync(1, Hidden));

        Assert.Empty(await queue.ReceiveAsync(1, Hidden));
        var updated = await queue.UpdateVisibilityAsync(first, TimeSpan.Zero);
        var second = Assert.Single(await queue.ReceiveAsync(1, Hidden));

        Assert.NotEqual(first.PopReceipt, updated.PopReceipt);
        Assert.Equal(first.Id, updated.Id);
        Assert.Equal(first.Text, updated.Text);
        Assert.Equal(first.Id, second.Id);
        Assert.Equal(2, second.DequeueCount);
    }

    [Fact]
    public async Task Update_visibility_returns_a_new_receipt_and_the_old_one_stops_working()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("job");
        var received = Assert.Single(await queue.ReceiveAsync(1, Hidden));

        var updated = await queue.UpdateVisibilityAsync(received, Hidden);
        var stale = await Assert.ThrowsAsync<StorageException>(() => queue.DeleteAsync(received));
        await queue.DeleteAsync(updated);

        Assert.Equal(400, stale.Status);
        Assert.Equal("PopReceiptMismatch", stale.ErrorCode);
        Assert.False(stale.IsTransient);
        await queue.UpdateVisibilityAsync(updated, TimeSpan.Zero).ContinueWith(t => Assert.IsType<StorageException>(t.Exception!.InnerException));
    }

    [Fact]
    public async Task Deleted_messages_do_not_come_back_and_a_second_delete_is_404_MessageNotFound()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("once");
        var received = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));

        await queue.DeleteAsync(received);
        await Task.Delay(1500);
        var again = await Assert.ThrowsAsync<StorageException>(() => queue.DeleteAsync(received));

        Assert.Empty(await queue.ReceiveAsync(32, Hidden));
        Assert.Equal(404, again.Status);
        Assert.Equal("MessageNotFound", again.ErrorCode);
    }

    [Fact]
    public async Task Messages_reappear_after_the_visibility_timeout()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("retry-me");
        Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(1)));

        await Task.Delay(1500);
        var again = Assert.Single(await queue.ReceiveAsync(1, Hidden));

        Assert.Equal(2, again.DequeueCount);
    }

    [Fact]
    public async Task Initial_visibility_delay_hides_a_new_message()
    {
        var queue = await NewQueueAsync();
        await queue.SendAsync("later", TimeSpan.FromSeconds(2));

        Assert.Empty(await queue.ReceiveAsync(1, Hidden));
        await Task.Delay(2500);
        Assert.Equal("later", Assert.Single(await queue.ReceiveAsync(1, Hidden)).Text);
    }

    [Fact]
    public async Task Receive_returns_at_most_the_requested_batch()
    {
        var queue = await NewQueueAsync();
        for (var i = 0; i < 34; i++) await queue.SendAsync($"m{i}");

        Assert.Equal(32, (await queue.ReceiveAsync(32, Hidden)).Count);
        Assert.Equal(2, (await queue.ReceiveAsync(5, Hidden)).Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(33)]
    public async Task Batch_size_outside_1_to_32_is_rejected(int max)
    {
        var queue = azurite.Queues().GetQueue("never-created");
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => queue.ReceiveAsync(max, Hidden));
    }

    [Fact]
    public async Task Base64_messages_up_to_64_KiB_encoded_are_accepted_and_larger_ones_rejected_before_sending()
    {
        var queue = await NewQueueAsync();
        var largest = new string('a', 49_152); // Base64 of 49,152 bytes is exactly 65,536 characters.

        await queue.SendAsync(largest);
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync(largest + "a"));

        Assert.Equal(largest, Assert.Single(await queue.ReceiveAsync(1, Hidden)).Text);
        Assert.Contains("65,540 bytes", ex.Message);
        Assert.Contains("blob", ex.Message);
    }

    [Fact]
    public async Task Encoding_none_sends_escaped_xml_and_counts_the_escaped_size()
    {
        var queue = await NewQueueAsync(QueueMessageEncoding.None);
        const string text = "a & b < c > d \"e\" 'f'\r\nline2\n\ttabbed  ";

        await queue.SendAsync(text);
        await queue.SendAsync(new string('x', 65_536));
        var tooBig = await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync(new string('&', 13_108))); // 13,108 × "&amp;" = 65,540 bytes
        var invalidXml = await Assert.ThrowsAsync<ArgumentException>(() => queue.SendAsync("bell\u0007"));

        var received = await queue.ReceiveAsync(2, Hidden);
        Assert.Equal(text, received[0].Text);
        Assert.Equal(65_536, received[1].Text.Length);
        Assert.Contains("64 KiB", tooBig.Message);
        Assert.Contains("Base64", invalidXml.Message);
    }

    [Fact]
    public async Task Base64_reader_returns_raw_text_for_a_message_that_is_not_base64()
    {
        var name = AzuriteFixture.UniqueName("q");
        var plain = azurite.Queues(QueueMessageEncoding.None).GetQueue(name);
        await plain.CreateIfNotExistsAsync();
        await plain.SendAsync("not base64!");
        await plain.SendAsync("aGVsbG8="); // Base64 of "hello" sent verbatim

        var received = await azurite.Queues().GetQueue(name).ReceiveAsync(2, Hidden);

        Assert.Equal(["hello", "not base64!"], received.Select(m => m.Text).OrderBy(t => t, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Operations_on_a_missing_queue_fail_with_404_QueueNotFound()
    {
        var queue = azurite.Queues().GetQueue(AzuriteFixture.UniqueName("missing"));

        var ex = await Assert.ThrowsAsync<StorageException>(() => queue.SendAsync("x"));

        Assert.Equal(404, ex.Status);
        Assert.Equal("QueueNotFound", ex.ErrorCode);
        Assert.False(ex.IsTransient);
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("Upper")]
    [InlineData("has--double")]
    [InlineData("-leading")]
    [InlineData("under_score")]
    public void Invalid_queue_names_are_rejected(string name) =>
        Assert.Throws<ArgumentException>(() => azurite.Queues().GetQueue(name));

    [Fact]
    public async Task Base64_encoding_puts_the_utf8_bytes_in_base64_on_the_wire()
    {
        var name = AzuriteFixture.UniqueName("wire");
        var queue = azurite.Queues().GetQueue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendAsync("é🚀 & <b>\r");

        var raw = Assert.Single(await azurite.Queues(QueueMessageEncoding.None).GetQueue(name).ReceiveAsync(1, Hidden));

        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes("é🚀 & <b>\r")), raw.Text);
    }
}
