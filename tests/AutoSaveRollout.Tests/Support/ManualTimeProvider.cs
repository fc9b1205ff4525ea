namespace AutoSaveRollout.Tests.Support;

/// <summary>
/// A <see cref="TimeProvider"/> whose clock only moves when a test says so (<see cref="SetUtcNow"/>, <see cref="Advance"/>).
/// Thread-safe. Timers created through it (so <c>Task.Delay(d, provider)</c> and <c>CancellationTokenSource(d, provider)</c>)
/// fire synchronously on the thread that moves the clock past their due time. <see cref="GetTimestamp"/> follows the
/// manual clock (frequency: <see cref="TimeSpan.TicksPerSecond"/>), so elapsed-time measurements do too.
/// </summary>
public class ManualTimeProvider : TimeProvider
{
    private readonly object _sync = new();
    private readonly List<ManualTimer> _timers = new();
    private DateTimeOffset _utcNow;
    private DateTimeOffset _frontier; // latest time requested by Advance/SetUtcNow; _utcNow catches up as timers fire

    /// <summary>Starts the clock at 2026-11-20T10:00:00Z.</summary>
    public ManualTimeProvider() : this(new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero)) { }

    /// <summary>Starts the clock at <paramref name="start"/> (converted to UTC).</summary>
    public ManualTimeProvider(DateTimeOffset start) => _utcNow = _frontier = start.ToUniversalTime();

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow()
    {
        lock (_sync)
            return _utcNow;
    }

    /// <inheritdoc />
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <inheritdoc />
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <inheritdoc />
    public override long GetTimestamp() => GetUtcNow().UtcTicks;

    /// <summary>Timers waiting to fire (e.g. a <c>Task.Delay</c> on this clock that has started), so a test can advance only once a wait is armed.</summary>
    public int PendingTimerCount
    {
        get
        {
            lock (_sync)
                return _timers.Count;
        }
    }

    /// <summary>Sets the clock to <paramref name="value"/> (may move backwards; timers only fire when moving forwards).</summary>
    public void SetUtcNow(DateTimeOffset value)
    {
        value = value.ToUniversalTime();
        lock (_sync)
        {
            _frontier = value;
            if (value <= _utcNow)
            {
                _utcNow = value;
                return;
            }
        }
        MoveTo(value);
    }

    /// <summary>Moves the clock forward by <paramref name="delta"/> (≥ 0, else <see cref="ArgumentOutOfRangeException"/>). Concurrent advances add up.</summary>
    public void Advance(TimeSpan delta)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(delta, TimeSpan.Zero);
        DateTimeOffset target;
        lock (_sync)
            target = _frontier += delta;
        MoveTo(target);
    }

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    // Fires due timers one at a time in due order, with the clock set to each timer's due time while it runs.
    private void MoveTo(DateTimeOffset target)
    {
        while (true)
        {
            ManualTimer? next = null;
            lock (_sync)
            {
                foreach (var t in _timers)
                {
                    if (t.DueAt is { } due && due <= target && (next is null || due < next.DueAt))
                        next = t;
                }
                if (next is null)
                {
                    if (target > _utcNow)
                        _utcNow = target;
                    return;
                }
                if (next.DueAt > _utcNow)
                    _utcNow = next.DueAt!.Value;
                next.DueAt = next.Period is { } p ? _utcNow + p : null;
                if (next.DueAt is null)
                    _timers.Remove(next);
            }
            next.Fire();
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? DueAt;
        public TimeSpan? Period;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._sync)
            {
                owner._timers.Remove(this);
                if (dueTime == Timeout.InfiniteTimeSpan)
                {
                    DueAt = null;
                    return true;
                }
                ArgumentOutOfRangeException.ThrowIfLessThan(dueTime, TimeSpan.Zero);
                DueAt = owner._utcNow + dueTime;
                Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? null : period;
                owner._timers.Add(this);
            }
            if (dueTime == TimeSpan.Zero)
                owner.MoveTo(owner.GetUtcNow());
            return true;
        }

        public void Fire() => callback(state);

        public void Dispose()
        {
            lock (owner._sync)
            {
                owner._timers.Remove(this);
                DueAt = null;
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
