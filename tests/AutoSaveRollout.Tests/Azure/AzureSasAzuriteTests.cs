using System.Text;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Azure;

/// <summary>
/// SAS connection strings (<c>BlobEndpoint=…;QueueEndpoint=…;SharedAccessSignature=…</c>) against Azurite. The account SAS
/// tokens are minted by Microsoft's @azure/storage-blob (<c>Interop/make-sas.mjs</c>), so a token the SDK path mangles
/// (e.g. by re-encoding the signature) would be rejected by Azurite. The connection strings are read by <see cref="AzureStorageRegistration"/>.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class AzureSasAzuriteTests(AzuriteFixture azurite) : IDisposable
{
    public void Dispose() { }

    private async Task<(string Connection, string Token)> SasAsync(string permissions)
    {
        var token = await NodeScript.RunAsync(azurite.RepoRoot, "make-sas.mjs",
            new Dictionary<string, string> { ["AZURE_STORAGE_CONNECTION_STRING"] = azurite.ConnectionString }, [permissions]);
        Assert.Contains("sig=", token);
        return ($"BlobEndpoint={azurite.BlobEndpoint};QueueEndpoint={azurite.QueueEndpoint};SharedAccessSignature={token}", token);
    }

    private AzureStoragePorts Ports(string connection, string lockContainer = "locks")
    {
        var options = azurite.Options();
        options.LockContainer = lockContainer;
        return azurite.CreatePorts(options, connection);
    }

    [Fact]
    public async Task Blob_queue_and_lease_operations_work_with_an_account_sas()
    {
        var (cs, _) = await SasAsync("rwdlacup");
        var container = AzuriteFixture.UniqueName("sas");
        var store = Ports(cs).Blobs;

        var etag = await store.PutAsync($"{container}/a b+c.json", "{}"u8.ToArray(), WriteCondition.IfNotExists);
        await store.AppendAsync($"{container}/log.jsonl", "x\n"u8.ToArray());
        var listed = new List<string>();
        await foreach (var p in store.ListAsync($"{container}/")) listed.Add(p);

        Assert.Equal(etag, (await store.TryGetAsync($"{container}/a b+c.json"))!.ETag);
        Assert.Equal([$"{container}/a b+c.json", $"{container}/log.jsonl"], listed);
        Assert.True(await store.DeleteAsync($"{container}/a b+c.json"));

        var queue = Ports(cs).Queues.GetQueue(AzuriteFixture.UniqueName("sas"));
        await queue.CreateIfNotExistsAsync();
        await queue.SendAsync("via sas");
        var message = Assert.Single(await queue.ReceiveAsync(1, TimeSpan.FromSeconds(30)));
        var updated = await queue.UpdateVisibilityAsync(message, TimeSpan.FromSeconds(30));
        await queue.DeleteAsync(updated);
        Assert.Equal("via sas", message.Text);

        await using var held = await Ports(cs, container).Locks.TryAcquireAsync("sas-lock", TimeSpan.FromSeconds(15));
        Assert.NotNull(held);
        await held.RenewAsync();
    }

    [Fact]
    public async Task A_read_only_sas_cannot_write_and_the_error_does_not_leak_the_signature()
    {
        var container = AzuriteFixture.UniqueName("sasro");
        await azurite.BlobStore().PutAsync($"{container}/readable.json", "r"u8.ToArray(), WriteCondition.None);
        var (cs, token) = await SasAsync("rl");
        var store = Ports(cs).Blobs;

        Assert.Equal("r", Encoding.UTF8.GetString((await store.TryGetAsync($"{container}/readable.json"))!.Content));
        var ex = await Assert.ThrowsAsync<StorageException>(() => store.PutAsync($"{container}/denied.json", "w"u8.ToArray(), WriteCondition.None));

        Assert.Equal(403, ex.Status);
        Assert.False(ex.IsTransient);
        var sig = token.Split('&').Single(p => p.StartsWith("sig=", StringComparison.Ordinal))[4..];
        Assert.DoesNotContain(sig, ex.ToString());
        Assert.DoesNotContain(Uri.UnescapeDataString(sig), ex.ToString());
        Assert.DoesNotContain(sig, Ports(cs).Description);
    }

    [Fact]
    public async Task A_tampered_sas_is_rejected_with_403()
    {
        var (_, token) = await SasAsync("rwdlacup");
        var tampered = token.Replace("sp=rwdlacup", "sp=rwdlacupx");
        var cs = $"BlobEndpoint={azurite.BlobEndpoint};QueueEndpoint={azurite.QueueEndpoint};SharedAccessSignature={tampered}";

        var ex = await Assert.ThrowsAsync<StorageException>(() =>
            Ports(cs).Blobs.PutAsync($"{AzuriteFixture.UniqueName("tamper")}/x.json", "x"u8.ToArray(), WriteCondition.None));

        Assert.Equal(403, ex.Status);
        Assert.False(ex.IsTransient);
    }
}
