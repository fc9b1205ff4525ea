using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Azure;

[Collection(AzuriteCollection.Name)]
public sealed class AzureBlobLeaseLockAzuriteTests(AzuriteFixture azurite) : IDisposable
{
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(15);
    private readonly HttpClient _http = azurite.CreateHttpClient();
    private readonly string _container = AzuriteFixture.UniqueName("locks");

    private AzureBlobLeaseLock Lock => azurite.Lock(_container);

    public void Dispose() => _http.Dispose();

    [Fact]
    public async Task First_caller_gets_the_lock_and_a_second_gets_null_until_it_is_released()
    {
        var locks = Lock;
        var held = await locks.TryAcquireAsync("collector/2026-11-20T10:15Z", Duration);

        Assert.NotNull(held);
        Assert.Null(await locks.TryAcquireAsync("collector/2026-11-20T10:15Z", Duration));
        await using (var other = await locks.TryAcquireAsync("collector/2026-11-20T10:30Z", Duration))
        {
            Assert.NotNull(other);
        }

        await held.DisposeAsync();
        await using var next = await locks.TryAcquireAsync("collector/2026-11-20T10:15Z", Duration);
        Assert.NotNull(next);
    }

    [Fact]
    public async Task The_lock_blob_is_created_empty_and_is_leased_while_held()
    {
        await using var held = await Lock.TryAcquireAsync("analyzer", TimeSpan.FromSeconds(60));

        var head = await AzuriteRaw.PropertiesAsync(azurite, $"{_container}/analyzer");
        Assert.Equal(0, head!.ContentLength);
        Assert.Equal(global::Azure.Storage.Blobs.Models.LeaseState.Leased, head.LeaseState);
        Assert.Equal(global::Azure.Storage.Blobs.Models.LeaseDurationType.Fixed, head.LeaseDuration);
        var store = azurite.BlobStore();
        var ex = await Assert.ThrowsAsync<StorageException>(() => store.DeleteAsync($"{_container}/analyzer"));
        Assert.Equal(412, ex.Status);
    }

    [Fact]
    public async Task Renew_keeps_the_lock_and_fails_once_another_holder_took_it()
    {
        var locks = Lock;
        var held = await locks.TryAcquireAsync("reporter", Duration);
        await held!.RenewAsync();

        // Break the lease immediately (as an operator or a crashed holder's replacement would), then let someone else take it.
        await AzuriteRaw.BreakLeaseAsync(azurite, $"{_container}/reporter");
        await using var thief = await locks.TryAcquireAsync("reporter", Duration);
        var lost = await Assert.ThrowsAsync<StorageException>(() => held.RenewAsync());

        Assert.NotNull(thief);
        Assert.Equal(409, lost.Status);
        Assert.Contains("lost", lost.Message);
        await held.DisposeAsync(); // releasing a lost lease must not throw
        await held.DisposeAsync();
    }

    [Theory]
    [InlineData(14)]
    [InlineData(61)]
    [InlineData(-1)]
    public async Task Durations_outside_15_to_60_seconds_are_rejected(int seconds)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Lock.TryAcquireAsync("x", TimeSpan.FromSeconds(seconds)));
    }

    [Fact]
    public async Task Concurrent_acquirers_get_exactly_one_lock()
    {
        var locks = Lock;
        var attempts = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => locks.TryAcquireAsync("race", Duration)));

        Assert.Single(attempts, h => h is not null);
        foreach (var handle in attempts) if (handle is not null) await handle.DisposeAsync();
    }
}
