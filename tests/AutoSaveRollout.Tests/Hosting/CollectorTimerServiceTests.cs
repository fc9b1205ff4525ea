using System.Runtime.CompilerServices;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Host.Hosting;
using AutoSaveRollout.Tests.Reliability;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Hosting;

/// <summary>
/// <see cref="CollectorTimerService"/> on a <see cref="ManualTimeProvider"/> and the embedded store: the default 15-minute
/// schedule, every 5 minutes for 30 minutes after a rollback recorded in the rollout state, and the schedule alone when the
/// state cannot be read. A run is observed as the Collector taking its lock; the clock is moved one 5-minute step at a time,
/// each once the service is waiting again (its wait logged and its timer armed).
/// </summary>
public sealed class CollectorTimerServiceTests : IDisposable
{
    private static readonly DateTimeOffset T = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);
    private readonly string _root = Directory.CreateTempSubdirectory("autosave-timer-").FullName;
    private readonly ManualTimeProvider _clock = new(T);
    private readonly FlakyStateStore _blobs;
    private readonly RecordingLock _locks;
    private readonly ListLogger _log = new();
    private readonly CollectorTimerService _service;

    public CollectorTimerServiceTests()
    {
        _blobs = new FlakyStateStore(new FileBlobStore(Path.Combine(_root, "blobs")));
        _locks = new RecordingLock(new FileDistributedLock(_root, _clock), _clock);
        var collector = new Collector(_blobs, new FileQueueFactory(_root, TimeProvider.System), _locks, new NoTelemetry(), _clock);
        _service = new CollectorTimerService(collector, _blobs, CollectorTimerService.ParseSchedule(CollectorTimerService.DefaultSchedule),
            _clock, _log.For<CollectorTimerService>());
    }

    public void Dispose()
    {
        _service.Dispose();
        try { Directory.Delete(_root, recursive: true); } catch (IOException) { }
    }

    private static DateTimeOffset At(int hour, int minute, int second = 0) => new(2026, 11, 20, hour, minute, second, TimeSpan.Zero);

    private int Waits => _log.Lines.Count(l => l.Contains("CollectorTimerService: waiting until", StringComparison.Ordinal));

    /// <summary>Waits (on the test's wall clock, bounded) until the service has logged <paramref name="waits"/> waits and armed its timer.</summary>
    private Task SettledAsync(int waits) => RetryPolicyTests.WaitUntil(() => Waits == waits && _clock.PendingTimerCount == 1);

    /// <summary>Starts the service at <see cref="T"/>, then moves the clock to each 5-minute boundary up to <paramref name="until"/>, calling <paramref name="at"/> once settled there.</summary>
    private async Task RunUntilAsync(DateTimeOffset until, Func<DateTimeOffset, Task>? at = null)
    {
        await _service.StartAsync(CancellationToken.None);
        var waits = 1;
        await SettledAsync(waits);
        for (var t = T + CollectorCadence.Fast; t <= until; t += CollectorCadence.Fast)
        {
            _clock.SetUtcNow(t);
            await SettledAsync(++waits);
            if (at is not null) await at(t);
        }
        Assert.False(_service.ExecuteTask!.IsCompleted, $"the timer stopped: {_service.ExecuteTask.Exception}");
        await _service.StopAsync(CancellationToken.None);
    }

    private Task WriteRollbackAsync(DateTimeOffset at) =>
        _blobs.Inner.PutAsync(StorePaths.RolloutState,
            Json.ToBytes(StoredStates.Make("off", rollbackActive: true, lastRollbackAt: at, updatedAt: at)), WriteCondition.None);

    [Fact]
    public async Task Without_a_rollback_the_Collector_runs_every_15_minutes_and_the_state_is_checked_every_5()
    {
        await RunUntilAsync(At(11, 0));

        Assert.Equal([At(10, 0), At(10, 15), At(10, 30), At(10, 45), At(11, 0)], _locks.Acquired);
        Assert.Equal(5 + 12, _blobs.StateReads); // as each wait begins (after each of the 5 runs) and at each of the 12 wake-ups
        Assert.DoesNotContain(_log.Lines, l => l.Contains("rollback", StringComparison.Ordinal));
    }

    [Fact]
    public async Task After_a_rollback_it_runs_every_5_minutes_for_30_minutes_then_every_15_again()
    {
        // The 10:15 run collects the window whose report rolls back at 10:15:40, while the service waits for 10:30.
        await RunUntilAsync(At(11, 30), async t =>
        {
            if (t == At(10, 15)) await WriteRollbackAsync(At(10, 15, 40));
        });

        Assert.Equal([
            At(10, 0), At(10, 15),
            At(10, 20), At(10, 25), At(10, 30), At(10, 35), At(10, 40), At(10, 45), // [10:15:40, 10:45:40)
            At(11, 0), At(11, 15), At(11, 30)], _locks.Acquired);
        var lines = _log.Lines.Select(l => l.Split(" | ")[0]).ToList();
        var fast = Assert.Single(lines, l => l.Contains("collecting every 5 minutes", StringComparison.Ordinal));
        Assert.Contains("rollback at 2026-11-20 10:15:40Z: collecting every 5 minutes until 2026-11-20 10:45:40Z, then on the schedule again", fast);
        var back = Assert.Single(lines, l => l.Contains("is over", StringComparison.Ordinal));
        Assert.Contains("fast collection after the rollback at 2026-11-20 10:15:40Z is over: collecting on the schedule again", back);
        Assert.True(lines.IndexOf(fast) < lines.IndexOf(back));
        // The switch back is noticed at the first wake-up after the fast period (10:50), which waits for the next boundary.
        Assert.Contains("waiting until 2026-11-20 10:55:00Z", lines[lines.IndexOf(back) + 1]);
    }

    [Theory]
    [InlineData("storage error")]
    [InlineData("malformed state")]
    public async Task An_unreadable_rollout_state_means_the_15_minute_schedule_until_it_can_be_read_again(string failure)
    {
        await WriteRollbackAsync(At(10, 15, 40));
        if (failure == "storage error") _blobs.FailState = true;
        else await _blobs.Inner.PutAsync(StorePaths.RolloutState, "{\"phase\": \"off\", \"last_rollback_at\": "u8.ToArray(), WriteCondition.None);

        await RunUntilAsync(At(11, 0), async t =>
        {
            if (t != At(10, 30)) return;
            _blobs.FailState = false;                     // readable again: the fast period has 15 minutes left
            await WriteRollbackAsync(At(10, 15, 40));
        });

        Assert.Equal([At(10, 0), At(10, 15), At(10, 30), At(10, 35), At(10, 40), At(10, 45), At(11, 0)], _locks.Acquired);
        Assert.Contains(_log.Lines, l => l.StartsWith("Warning", StringComparison.Ordinal)
            && l.Contains("rollout state unreadable, collecting on the normal schedule", StringComparison.Ordinal));
        if (failure == "storage error")
            Assert.Contains(_log.Lines, l => l.Contains("storage down for the test", StringComparison.Ordinal));
    }

    /// <summary>The embedded store, with reads of the rollout state failing (<see cref="StorageException"/>) while <see cref="FailState"/> is set.</summary>
    private sealed class FlakyStateStore(FileBlobStore inner) : IBlobStore
    {
        private int _stateReads;
        public FileBlobStore Inner => inner;
        public volatile bool FailState;
        public int StateReads => Volatile.Read(ref _stateReads);

        public Task<BlobContent?> TryGetAsync(string path, CancellationToken cancellationToken = default)
        {
            if (path == StorePaths.RolloutState)
            {
                Interlocked.Increment(ref _stateReads);
                if (FailState) throw new StorageException("storage down for the test", 503, "ServerBusy", isTransient: true);
            }
            return inner.TryGetAsync(path, cancellationToken);
        }

        public Task<Stream?> TryOpenReadAsync(string path, CancellationToken cancellationToken = default) => inner.TryOpenReadAsync(path, cancellationToken);
        public Task<string> PutAsync(string path, ReadOnlyMemory<byte> content, WriteCondition condition, CancellationToken cancellationToken = default) =>
            inner.PutAsync(path, content, condition, cancellationToken);
        public Task CreateAppendBlobAsync(string path, CancellationToken cancellationToken = default) => inner.CreateAppendBlobAsync(path, cancellationToken);
        public Task AppendAsync(string path, ReadOnlyMemory<byte> block, CancellationToken cancellationToken = default) => inner.AppendAsync(path, block, cancellationToken);
        public IAsyncEnumerable<string> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);
        public Task<bool> DeleteAsync(string path, CancellationToken cancellationToken = default) => inner.DeleteAsync(path, cancellationToken);
    }

    /// <summary>The embedded lock, recording the clock at every acquisition: one per Collector run.</summary>
    private sealed class RecordingLock(IDistributedLock inner, TimeProvider clock) : IDistributedLock
    {
        private readonly List<DateTimeOffset> _acquired = [];

        public IReadOnlyList<DateTimeOffset> Acquired
        {
            get { lock (_acquired) return _acquired.ToArray(); }
        }

        public Task<ILockHandle?> TryAcquireAsync(string name, TimeSpan duration, CancellationToken cancellationToken = default)
        {
            lock (_acquired) _acquired.Add(clock.GetUtcNow());
            return inner.TryAcquireAsync(name, duration, cancellationToken);
        }
    }

    /// <summary>A telemetry source with no events (every window is collected empty).</summary>
    private sealed class NoTelemetry : ITelemetrySource
    {
        public string Description => "none";

        public async IAsyncEnumerable<RawLine> ReadWindowAsync(TimeWindow window, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.CompletedTask;
            yield break;
        }
    }
}
