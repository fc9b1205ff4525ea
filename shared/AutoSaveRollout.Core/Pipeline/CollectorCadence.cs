namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// When the Collector runs (design section 6, step 5): normally on its 15-minute schedule; for 30 minutes after a rollback
/// (<see cref="State.RolloutState.LastRollbackAt"/>) every 5 minutes, then back to every 15. Windows stay 15 minutes long
/// (<see cref="Windows.TimeWindow"/>): a faster run only picks up a newly closed window, and back-fills or retries one that
/// failed, sooner. Pure functions of their arguments; all instants are compared in UTC.
/// <para>Rules, for a rollback at <c>r</c>:</para>
/// <list type="bullet">
/// <item>The fast period is <c>[r, r + 30 min)</c> (<see cref="IsFast"/>).</item>
/// <item>Runs happen on the schedule (every 15 minutes by default) and, in addition, on every 5-minute boundary of the UTC
/// clock (:00, :05, :10, …) that lies inside the fast period. A rollback at 10:17 gives runs at 10:20, 10:25, 10:30, 10:35,
/// 10:40, 10:45, then 11:00.</item>
/// <item>A rollback exactly on a boundary makes that boundary part of the fast period: at 10:15:00 the extra runs are at
/// 10:20, 10:25, 10:35 and 10:40 (10:15, 10:30 and 10:45 are scheduled anyway), and 10:45 is the last 5-minute step.</item>
/// <item>A rollback time in the future (the writer's clock ahead of this one) needs no special case: only boundaries at or
/// after <c>r</c> are fast, so nothing runs early, and a nonsensical far-future time simply never yields a fast run.</item>
/// <item>No rollback (null, or a state that cannot be read): the schedule alone.</item>
/// </list>
/// </summary>
public static class CollectorCadence
{
    /// <summary>Interval of the fast cadence: 5 minutes, on boundaries aligned to :00, :05, … UTC.</summary>
    public static readonly TimeSpan Fast = TimeSpan.FromMinutes(5);

    /// <summary>Interval of the normal cadence: 15 minutes (the window length), on :00, :15, :30, :45 UTC.</summary>
    public static readonly TimeSpan Normal = TimeSpan.FromMinutes(15);

    /// <summary>How long the fast cadence lasts after a rollback: 30 minutes.</summary>
    public static readonly TimeSpan FastFor = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How early a 5-minute timer may fire and still count for the coming boundary in <see cref="IsDue"/>: 30 seconds.
    /// A firing counts for the boundary at or before <c>now + 30 s</c>, so it may be up to 30 s early or up to 4 min 30 s late.
    /// </summary>
    public static readonly TimeSpan EarlyFiringTolerance = TimeSpan.FromSeconds(30);

    /// <summary>True when <paramref name="now"/> lies in the fast period <c>[lastRollbackAt, lastRollbackAt + 30 min)</c>; false when null.</summary>
    public static bool IsFast(DateTimeOffset now, DateTimeOffset? lastRollbackAt) =>
        lastRollbackAt is { } r && now >= r && now.UtcTicks < FastEnd(r);

    /// <summary>The first 5-minute boundary strictly after <paramref name="now"/> (UTC offset).</summary>
    public static DateTimeOffset NextBoundary(DateTimeOffset now) => Floor(now.UtcTicks) + Fast;

    /// <summary>
    /// The first run strictly after <paramref name="now"/>: <paramref name="nextScheduled"/>(<paramref name="now"/>) (the next
    /// occurrence of the schedule strictly after its argument, e.g. NCRONTAB <c>0 */15 * * * *</c>), or the first 5-minute
    /// boundary after <paramref name="now"/> that lies in the fast period of <paramref name="lastRollbackAt"/>, whichever is
    /// earlier. Throws <see cref="ArgumentNullException"/> when <paramref name="nextScheduled"/> is null.
    /// </summary>
    public static DateTimeOffset NextRun(DateTimeOffset now, DateTimeOffset? lastRollbackAt, Func<DateTimeOffset, DateTimeOffset> nextScheduled)
    {
        ArgumentNullException.ThrowIfNull(nextScheduled);
        var scheduled = nextScheduled(now);
        if (lastRollbackAt is not { } r || r.UtcTicks > LatestUsableTicks) return scheduled;
        var firstFast = Ceiling(r.UtcTicks);
        var boundary = NextBoundary(now);
        var candidate = boundary > firstFast ? boundary : firstFast;
        return candidate.UtcTicks < FastEnd(r) && candidate < scheduled ? candidate : scheduled;
    }

    /// <summary>
    /// For a timer that fires every 5 minutes (the Functions app): whether the firing at <paramref name="now"/> should run the
    /// Collector. The firing counts for the boundary at or before <c>now + </c><see cref="EarlyFiringTolerance"/> (timer jitter,
    /// late firing); it is due when that boundary is a 15-minute one (:00, :15, :30, :45 UTC) or lies in the fast period of
    /// <paramref name="lastRollbackAt"/>. For firings on boundaries this agrees with <see cref="NextRun"/> on a 15-minute schedule.
    /// </summary>
    public static bool IsDue(DateTimeOffset now, DateTimeOffset? lastRollbackAt)
    {
        var boundary = BoundaryOf(now);
        return boundary.UtcTicks % Normal.Ticks == 0 || IsFast(boundary, lastRollbackAt);
    }

    /// <summary>The 5-minute boundary a timer firing at <paramref name="firedAt"/> belongs to (see <see cref="EarlyFiringTolerance"/>).</summary>
    public static DateTimeOffset BoundaryOf(DateTimeOffset firedAt) => Floor(firedAt.UtcTicks + EarlyFiringTolerance.Ticks);

    // A rollback later than this (year 9999) cannot have a fast period that fits in DateTimeOffset; it is ignored.
    private static readonly long LatestUsableTicks = DateTimeOffset.MaxValue.UtcTicks - FastFor.Ticks - Fast.Ticks;

    private static long FastEnd(DateTimeOffset r) => r.UtcTicks > LatestUsableTicks ? long.MaxValue : r.UtcTicks + FastFor.Ticks;

    private static DateTimeOffset Floor(long utcTicks) => new(utcTicks - utcTicks % Fast.Ticks, TimeSpan.Zero);

    private static DateTimeOffset Ceiling(long utcTicks)
    {
        var floor = Floor(utcTicks);
        return floor.UtcTicks == utcTicks ? floor : floor + Fast;
    }
}
