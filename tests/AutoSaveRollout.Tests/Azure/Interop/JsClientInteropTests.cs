using System.Text;
using System.Text.Json;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Azure.Interop;

/// <summary>
/// Our adapters and Microsoft's JS clients (@azure/storage-blob, @azure/storage-queue) exchange blobs and queue messages
/// through the same Azurite, in both directions (<c>interop.mjs</c>).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class JsClientInteropTests(AzuriteFixture azurite) : IDisposable
{
    private const string Payload = "{\"window\":\"2026-11-20T10:15:00Z\",\"text\":\"ünïcødé & <xml> 🚀\"}";
    private readonly HttpClient _http = azurite.CreateHttpClient();

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task Js_clients_read_what_our_adapters_wrote_and_queue_text_is_base64_of_ours()
    {
        var container = AzuriteFixture.UniqueName("interop");
        var queueName = AzuriteFixture.UniqueName("interop");
        var store = azurite.BlobStore();
        var etag = await store.PutAsync($"{container}/2026/11/20/1015 ü.jsonl", Encoding.UTF8.GetBytes(Payload), WriteCondition.None);
        await store.AppendAsync($"{container}/logs/rejected.jsonl", "a\n"u8.ToArray());
        await store.AppendAsync($"{container}/logs/rejected.jsonl", "b\n"u8.ToArray());
        var queue = azurite.Queues().GetQueue(queueName);
        await queue.CreateIfNotExistsAsync();
        await queue.SendAsync(Payload);

        var output = await RunAsync("read", container, queueName, "2026/11/20/1015 ü.jsonl", "logs/rejected.jsonl");

        Assert.Equal(Payload, output.GetProperty("blob").GetString());
        Assert.Equal(etag, output.GetProperty("blobEtag").GetString());
        Assert.Equal("a\nb\n", output.GetProperty("append").GetString());
        Assert.Equal("AppendBlob", output.GetProperty("appendType").GetString());
        Assert.Equal(["2026/11/20/1015 ü.jsonl", "logs/rejected.jsonl"], output.GetProperty("listed").EnumerateArray().Select(e => e.GetString()));
        var message = Assert.Single(output.GetProperty("messages").EnumerateArray());
        var wireText = message.GetProperty("messageText").GetString()!;
        Assert.Equal(Convert.ToBase64String(Encoding.UTF8.GetBytes(Payload)), wireText);
        Assert.Equal(Payload, Encoding.UTF8.GetString(Convert.FromBase64String(wireText)));
        Assert.Equal(1, message.GetProperty("dequeueCount").GetInt32());
    }

    [Fact]
    public async Task Our_adapters_read_what_js_clients_wrote()
    {
        var container = AzuriteFixture.UniqueName("interop");
        var queueName = AzuriteFixture.UniqueName("interop");

        var output = await RunAsync("write", container, queueName, "in/from js+é.json", "in/append.log", Payload);

        var store = azurite.BlobStore();
        var blob = await store.TryGetAsync($"{container}/in/from js+é.json");
        Assert.NotNull(blob);
        Assert.Equal(Payload, Encoding.UTF8.GetString(blob.Content));
        Assert.Equal(output.GetProperty("blobEtag").GetString(), blob.ETag);
        Assert.Equal("first\nsecond\n", Encoding.UTF8.GetString((await store.TryGetAsync($"{container}/in/append.log"))!.Content));
        await store.AppendAsync($"{container}/in/append.log", "third\n"u8.ToArray());
        Assert.Equal("first\nsecond\nthird\n", Encoding.UTF8.GetString((await store.TryGetAsync($"{container}/in/append.log"))!.Content));
        var listed = new List<string>();
        await foreach (var path in store.ListAsync($"{container}/in/")) listed.Add(path);
        Assert.Equal([$"{container}/in/append.log", $"{container}/in/from js+é.json"], listed);

        var queue = azurite.Queues().GetQueue(queueName);
        var message = Assert.Single(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30)));
        Assert.Equal(Payload, message.Text);
        Assert.Equal(output.GetProperty("messageId").GetString(), message.Id);
        await queue.DeleteAsync(message);
    }

    private async Task<JsonElement> RunAsync(string mode, string container, string queue, string blob, string appendBlob, string text = "")
    {
        var stdout = await NodeScript.RunAsync(azurite.RepoRoot, "interop.mjs", new Dictionary<string, string>
        {
            ["AZURE_STORAGE_CONNECTION_STRING"] = azurite.ConnectionString,
            ["CONTAINER"] = container,
            ["QUEUE"] = queue,
            ["BLOB"] = blob,
            ["APPEND_BLOB"] = appendBlob,
            ["TEXT"] = text,
        }, [mode]);
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }
}
