using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Tests.Storage.Contracts;

/// <summary>
/// Behaviour every <see cref="IDistributedLock"/> must show (embedded lease files, Azure blob leases, Azurite).
/// Expiry takes at least 15 s of real time on Azure, so takeover-after-expiry is tested per backend where the clock
/// can be controlled (see the file-system tests). Each test uses fresh lock names.
/// </summary>
public abstract class DistributedLockContract
{
    /// <summary>A lock provider on the backend under test. Several calls must reach the same backend (like separate hosts).</summary>
    protected abstract IDistributedLock CreateLock();

    /// <summary>A lock name no other test uses, shaped like the app's (<c>collector/{window}</c>).</summary>
    protected virtual string NewLockName() => $"collector/{Guid.NewGuid():N}/2026-11-20T10-15Z";

    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_held_lock_cannot_be_acquired_by_anyone_else()
    {
        var name = NewLockName();
        var first = CreateLock();
        var second = CreateLock();

        await using var handle = await first.TryAcquireAsync(name, Duration);

        Assert.NotNull(handle);
        Assert.Null(await second.TryAcquireAsync(name, Duration));
        Assert.Null(await first.TryAcquireAsync(name, Duration)); // not re-entrant
    }

    [Fact]
    public async Task Disposing_the_handle_releases_the_lock()
    {
        var name = NewLockName();
        var handle = await CreateLock().TryAcquireAsync(name, Duration);
        Assert.NotNull(handle);

        await handle.DisposeAsync();
        await handle.DisposeAsync(); // idempotent

        await using var next = await CreateLock().TryAcquireAsync(name, Duration);
        Assert.NotNull(next);
    }

    [Fact]
    public async Task Renew_keeps_the_lock_held()
    {
        var name = NewLockName();
        await using var handle = await CreateLock().TryAcquireAsync(name, TimeSpan.FromSeconds(15));
        Assert.NotNull(handle);

        await handle.RenewAsync();
        await handle.RenewAsync();

        Assert.Null(await CreateLock().TryAcquireAsync(name, Duration));
    }

    [Fact]
    public async Task Different_names_are_independent()
    {
        var locks = CreateLock();
        await using var a = await locks.TryAcquireAsync(NewLockName(), Duration);
        await using var b = await locks.TryAcquireAsync(NewLockName(), Duration);

        Assert.NotNull(a);
        Assert.NotNull(b);
    }

    [Theory]
    [InlineData(14)]
    [InlineData(61)]
    [InlineData(0)]
    [InlineData(-1)]
    public async Task Durations_outside_15_to_60_seconds_are_rejected(int seconds)
    {
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => CreateLock().TryAcquireAsync(NewLockName(), TimeSpan.FromSeconds(seconds)));
    }

    [Theory]
    [InlineData(15)]
    [InlineData(60)]
    public async Task Durations_of_15_and_60_seconds_are_accepted(int seconds)
    {
        await using var handle = await CreateLock().TryAcquireAsync(NewLockName(), TimeSpan.FromSeconds(seconds));
        Assert.NotNull(handle);
    }

    [Fact]
    public async Task Of_many_concurrent_acquirers_exactly_one_wins()
    {
        var name = NewLockName();
        var providers = Enumerable.Range(0, 3).Select(_ => CreateLock()).ToArray();

        var handles = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => providers[i % 3].TryAcquireAsync(name, Duration))));

        Assert.Single(handles, h => h is not null);
        foreach (var h in handles)
        {
            if (h is not null)
                await h.DisposeAsync();
        }
    }
}
