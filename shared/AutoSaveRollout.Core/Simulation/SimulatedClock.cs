namespace AutoSaveRollout.Core.Simulation;

/// <summary>
/// A settable clock for replays and tests: <see cref="GetUtcNow"/> returns the instant last set; it never advances on its
/// own. Thread-safe. (Timers created from it still run on real time.)
/// </summary>
public sealed class SimulatedClock : TimeProvider
{
    private long _utcTicks;

    /// <summary>Creates a clock showing <paramref name="start"/>.</summary>
    public SimulatedClock(DateTimeOffset start) => _utcTicks = start.UtcTicks;

    /// <inheritdoc />
    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    /// <summary>Moves the clock to <paramref name="instant"/> (any direction).</summary>
    public void Set(DateTimeOffset instant) => Interlocked.Exchange(ref _utcTicks, instant.UtcTicks);

    /// <summary>Moves the clock forward by <paramref name="by"/>.</summary>
    public void Advance(TimeSpan by) => Interlocked.Add(ref _utcTicks, by.Ticks);
}
