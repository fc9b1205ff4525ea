using System.Text.Json;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Storage.Contracts;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Adapters.Storage.FileSystem;

/// <summary>The lock contract against <see cref="FileDistributedLock"/> on the system clock; each provider is a separate instance on one root.</summary>
public sealed class FileSystemDistributedLockContractTests : DistributedLockContract, IDisposable
{
    private readonly TempRoot _root = new();

    /// <inheritdoc />
    protected override IDistributedLock CreateLock() => new FileDistributedLock(_root.Path, TimeProvider.System);

    /// <inheritdoc />
    public void Dispose() => _root.Dispose();
}

/// <summary>Lease expiry and renewal on a manual clock, takeover, file layout and cross-process guarding.</summary>
public sealed class FileDistributedLockTests : IDisposable
{
    private readonly TempRoot _root = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _root.Dispose();

    private FileDistributedLock NewLock() => new(_root.Path, _time);

    [Fact]
    public async Task A_lease_expires_after_its_duration_and_can_then_be_taken_over()
    {
        var first = await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15));
        Assert.NotNull(first);

        _time.Advance(TimeSpan.FromSeconds(15) - TimeSpan.FromTicks(1));
        Assert.Null(await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15)));
        _time.Advance(TimeSpan.FromTicks(1));
        var second = await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15));

        Assert.NotNull(second);
    }

    [Fact]
    public async Task Renew_extends_the_lease_by_its_duration_from_now()
    {
        await using var handle = await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(20));
        Assert.NotNull(handle);

        _time.Advance(TimeSpan.FromSeconds(15));
        await handle.RenewAsync();                   // now expires at 35 s
        _time.Advance(TimeSpan.FromSeconds(19));     // 34 s
        Assert.Null(await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15)));
        _time.Advance(TimeSpan.FromSeconds(1));      // 35 s
        await using var next = await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15));
        Assert.NotNull(next);
    }

    [Fact]
    public async Task Renew_after_someone_else_took_over_throws_and_dispose_leaves_the_new_lease_alone()
    {
        var stale = await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15));
        Assert.NotNull(stale);
        _time.Advance(TimeSpan.FromSeconds(16));
        await using var taker = await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(60));
        Assert.NotNull(taker);

        var ex = await Assert.ThrowsAsync<StorageException>(() => stale.RenewAsync());
        await stale.DisposeAsync();

        Assert.Equal((409, "LeaseIdMismatchWithLeaseOperation", false), (ex.Status, ex.ErrorCode, ex.IsTransient));
        Assert.Null(await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15)));
        await taker.RenewAsync();
    }

    [Fact]
    public async Task An_expired_lease_nobody_took_can_still_be_renewed()
    {
        await using var handle = await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15));
        Assert.NotNull(handle);
        _time.Advance(TimeSpan.FromMinutes(5));

        await handle.RenewAsync();

        Assert.Null(await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task Renew_after_release_throws_object_disposed()
    {
        var handle = await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(15));
        Assert.NotNull(handle);
        await handle.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => handle.RenewAsync());
    }

    [Fact]
    public async Task A_lease_whose_file_vanished_cannot_be_renewed()
    {
        var locks = NewLock();
        await using var handle = await locks.TryAcquireAsync("collector", TimeSpan.FromSeconds(15));
        Assert.NotNull(handle);
        File.Delete(locks.LeaseFileFor("collector"));

        var ex = await Assert.ThrowsAsync<StorageException>(() => handle.RenewAsync());

        Assert.Equal((409, "LeaseNotPresentWithLeaseOperation"), (ex.Status, ex.ErrorCode));
    }

    [Fact]
    public async Task Lease_files_live_under_locks_with_escaped_names_and_go_away_on_release()
    {
        var locks = NewLock();
        var handle = await locks.TryAcquireAsync("Collector/2026-11-20T10:15Z", TimeSpan.FromSeconds(30));
        Assert.NotNull(handle);

        var file = Path.Combine(_root.Path, "locks", "_43ollector_2f2026-11-20_5410_3a15_5a.lease");
        Assert.Equal(file, locks.LeaseFileFor("Collector/2026-11-20T10:15Z"));
        using (var doc = JsonDocument.Parse(await File.ReadAllBytesAsync(file)))
        {
            Assert.Equal(_time.GetUtcNow().AddSeconds(30), doc.RootElement.GetProperty("ExpiresAt").GetDateTimeOffset());
            Assert.Equal("Collector/2026-11-20T10:15Z", doc.RootElement.GetProperty("Name").GetString());
        }

        await handle.DisposeAsync();
        Assert.False(File.Exists(file));
        Assert.Empty(Directory.GetFiles(Path.Combine(_root.Path, "locks"), "*.tmp"));
    }

    [Fact]
    public async Task Names_differing_only_in_case_or_escaping_are_different_locks_and_long_names_work()
    {
        var locks = NewLock();
        var longName = new string('ß', 600);
        string[] names = ["abc", "ABC", "a_62c", "a/bc", "a.bc", longName, longName + "x"];

        var handles = new List<ILockHandle?>();
        foreach (var n in names)
            handles.Add(await locks.TryAcquireAsync(n, TimeSpan.FromSeconds(30)));

        Assert.All(handles, Assert.NotNull);
        Assert.Equal(names.Length, names.Select(locks.LeaseFileFor).Distinct().Count());
        Assert.All(names, n => Assert.True(Path.GetFileName(locks.LeaseFileFor(n)).Length <= 210));
        await Assert.ThrowsAsync<ArgumentException>(() => locks.TryAcquireAsync(new string('x', 1025), TimeSpan.FromSeconds(30)));
        await Assert.ThrowsAsync<ArgumentException>(() => locks.TryAcquireAsync(" ", TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_live_lease_is_seen_by_a_new_instance_as_after_a_restart()
    {
        var handle = await NewLock().TryAcquireAsync("collector", TimeSpan.FromSeconds(60));
        Assert.NotNull(handle);

        var afterRestart = new FileDistributedLock(_root.Path, _time);

        Assert.Null(await afterRestart.TryAcquireAsync("collector", TimeSpan.FromSeconds(60)));
        _time.Advance(TimeSpan.FromSeconds(60));
        Assert.NotNull(await afterRestart.TryAcquireAsync("collector", TimeSpan.FromSeconds(60)));
    }

    [Fact]
    public async Task Repeated_contended_rounds_from_two_instances_have_exactly_one_holder_each()
    {
        var providers = new[] { NewLock(), NewLock() };
        for (var round = 0; round < 10; round++)
        {
            var name = $"round-{round}";
            var handles = await Task.WhenAll(Enumerable.Range(0, 10).Select(i => Task.Run(() => providers[i % 2].TryAcquireAsync(name, TimeSpan.FromSeconds(15)))));
            Assert.Single(handles, h => h is not null);
        }
    }

    [Fact]
    public async Task A_guard_held_by_another_process_blocks_acquisition_until_released()
    {
        if (!OperatingSystem.IsLinux() || !File.Exists("/usr/bin/flock"))
            return;
        var locks = NewLock();

        using var holder = FileBlobStoreTests.StartFlockHolder(locks.GuardFileFor("collector"), holdSeconds: 2);
        var acquire = locks.TryAcquireAsync("collector", TimeSpan.FromSeconds(15));
        await Task.Delay(700);
        Assert.False(acquire.IsCompleted, "acquired while another process held the guard lock");

        Assert.NotNull(await acquire.WaitAsync(TimeSpan.FromSeconds(15)));
        await holder.WaitForExitAsync();
    }
}
