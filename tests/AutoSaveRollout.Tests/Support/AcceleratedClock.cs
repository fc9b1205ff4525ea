using System.Diagnostics;

namespace AutoSaveRollout.Tests.Support;

/// <summary>
/// A clock that runs <see cref="Factor"/> times faster than real time from <see cref="Start"/>: timers created through it
/// (so <c>Task.Delay(d, clock)</c>) fire after d / Factor of real time. Lets the long-running host's schedules (a
/// collection every 15 minutes) play out in seconds while storage, HTTP and queues keep their real timing.
/// </summary>
internal sealed class AcceleratedClock(DateTimeOffset start, double factor) : TimeProvider
{
    private readonly long _origin = Stopwatch.GetTimestamp();

    /// <summary>Simulated instant at creation.</summary>
    public DateTimeOffset Start { get; } = start;

    /// <summary>Simulated seconds per real second.</summary>
    public double Factor { get; } = factor;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => Start + Stopwatch.GetElapsedTime(_origin) * Factor;

    /// <inheritdoc />
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period) =>
        System.CreateTimer(callback, state, Scale(dueTime), Scale(period));

    private TimeSpan Scale(TimeSpan t) => t == Timeout.InfiniteTimeSpan || t <= TimeSpan.Zero ? t : t / Factor;
}
