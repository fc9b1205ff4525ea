using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Host.Hosting;
using FsCheck;
using FsCheck.Fluent;

namespace AutoSaveRollout.Tests.Pipeline;

/// <summary>
/// <see cref="CollectorCadence"/>: every 5 minutes for 30 minutes after a rollback, otherwise the 15-minute schedule.
/// Tables for the rules and edge cases, and seeded FsCheck properties (<c>CADENCE_SEED</c> overrides the seed) over runs
/// simulated with <see cref="CollectorCadence.NextRun"/> on the host's default NCRONTAB schedule.
/// </summary>
public sealed class CollectorCadenceTests
{
    private static readonly DateTimeOffset T = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);
    private static readonly NCrontab.CrontabSchedule Cron = CollectorTimerService.ParseSchedule(CollectorTimerService.DefaultSchedule);

    private static DateTimeOffset Scheduled(DateTimeOffset after) => new(Cron.GetNextOccurrence(after.UtcDateTime), TimeSpan.Zero);

    /// <summary>"10:15:40" → that time on 2026-11-20 (UTC); "+1d 10:00:00" → a day later, "-1d …" a day earlier; "" → null.</summary>
    private static DateTimeOffset? At(string text)
    {
        if (text.Length == 0) return null;
        var day = T.Date;
        if (text.StartsWith("+1d ", StringComparison.Ordinal)) (day, text) = (day.AddDays(1), text[4..]);
        else if (text.StartsWith("-1d ", StringComparison.Ordinal)) (day, text) = (day.AddDays(-1), text[4..]);
        return new DateTimeOffset(day + TimeSpan.Parse(text, System.Globalization.CultureInfo.InvariantCulture), TimeSpan.Zero);
    }

    [Theory]
    // no rollback: the schedule
    [InlineData("10:00:00", "", "10:15:00")]
    [InlineData("10:15:00", "", "10:30:00")]
    [InlineData("10:29:59.999", "", "10:30:00")]
    // rollback at 10:15:40, after the 10:15 run: 10:20 … 10:45 every 5 minutes, then 11:00
    [InlineData("10:15:05", "10:15:40", "10:20:00")]  // the rollback is still ahead on this clock: the first fast boundary after it
    [InlineData("10:16:00", "10:15:40", "10:20:00")]
    [InlineData("10:20:00", "10:15:40", "10:25:00")]
    [InlineData("10:20:00.5", "10:15:40", "10:25:00")]
    [InlineData("10:40:00", "10:15:40", "10:45:00")]
    [InlineData("10:45:00", "10:15:40", "11:00:00")]  // 10:50 is past 10:45:40
    [InlineData("10:45:30", "10:15:40", "11:00:00")]
    // rollback exactly on a boundary: the fast period is [10:15, 10:45)
    [InlineData("10:15:00", "10:15:00", "10:20:00")]
    [InlineData("10:14:59.9", "10:15:00", "10:15:00")] // clock behind: 10:15 is both fast and scheduled
    [InlineData("10:35:00", "10:15:00", "10:40:00")]
    [InlineData("10:40:00", "10:15:00", "10:45:00")]  // 10:45 is not fast (end exclusive) but scheduled
    [InlineData("10:45:00", "10:15:00", "11:00:00")]
    [InlineData("10:35:00", "10:10:00", "10:45:00")]  // 10:40 = rollback + 30 min: the fast period is over
    // clock skew: a rollback time ahead of this clock starts its fast runs at the first boundary at or after it
    [InlineData("10:16:00", "10:17:00", "10:20:00")]
    [InlineData("10:10:00", "10:12:00", "10:15:00")]
    [InlineData("10:00:00", "10:22:00", "10:15:00")]  // the scheduled run comes first; the next call finds 10:25
    [InlineData("10:15:00", "10:22:00", "10:25:00")]
    [InlineData("10:00:00", "+1d 10:00:00", "10:15:00")] // far in the future: never fast before it
    // a rollback long ago, and one whose fast period straddles the hour
    [InlineData("10:00:00", "09:00:00", "10:15:00")]
    [InlineData("10:00:00", "-1d 10:00:00", "10:15:00")]
    [InlineData("10:45:00", "10:44:59", "10:50:00")]
    [InlineData("11:10:00", "10:44:59", "11:15:00")]
    [InlineData("11:15:00", "10:44:59", "11:30:00")]
    public void NextRun_follows_the_schedule_and_adds_5_minute_boundaries_inside_the_fast_period(string now, string rollback, string expected)
    {
        var next = CollectorCadence.NextRun(At(now)!.Value, At(rollback), Scheduled);
        Assert.Equal(At(expected)!.Value, next);
        Assert.Equal(TimeSpan.Zero, next.Offset);
    }

    [Fact]
    public void NextRun_compares_instants_whatever_their_offset_and_answers_in_UTC()
    {
        var rollback = new DateTimeOffset(2026, 11, 20, 11, 17, 0, TimeSpan.FromHours(1)); // 10:17Z
        var now = new DateTimeOffset(2026, 11, 20, 19, 18, 0, TimeSpan.FromHours(9));      // 10:18Z
        Assert.Equal(At("10:20:00"), CollectorCadence.NextRun(now, rollback, Scheduled));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void NextRun_ignores_a_rollback_at_the_ends_of_the_calendar(int which)
    {
        var rollback = which switch
        {
            0 => DateTimeOffset.MinValue,
            1 => DateTimeOffset.MaxValue.AddMinutes(-32),
            _ => DateTimeOffset.MaxValue,
        };
        Assert.Equal(At("10:15:00"), CollectorCadence.NextRun(T, rollback, Scheduled));
        Assert.False(CollectorCadence.IsFast(T, rollback));
        Assert.False(CollectorCadence.IsDue(At("10:05:00")!.Value, rollback));
    }

    [Fact]
    public void NextRun_rejects_a_null_schedule() =>
        Assert.Throws<ArgumentNullException>(() => CollectorCadence.NextRun(T, null, null!));

    [Theory]
    [InlineData("10:15:39.999", "10:15:40", false)]
    [InlineData("10:15:40", "10:15:40", true)]
    [InlineData("10:30:00", "10:15:40", true)]
    [InlineData("10:45:39.999", "10:15:40", true)]
    [InlineData("10:45:40", "10:15:40", false)]
    [InlineData("10:30:00", "", false)]
    public void IsFast_is_the_half_open_30_minutes_from_the_rollback(string now, string rollback, bool expected) =>
        Assert.Equal(expected, CollectorCadence.IsFast(At(now)!.Value, At(rollback)));

    [Theory]
    [InlineData("10:00:00", "10:05:00")]
    [InlineData("10:04:59.999", "10:05:00")]
    [InlineData("10:05:00", "10:10:00")]
    [InlineData("23:58:00", "+1d 00:00:00")]
    public void NextBoundary_is_the_next_5_minute_mark_strictly_after(string now, string expected) =>
        Assert.Equal(At(expected), CollectorCadence.NextBoundary(At(now)!.Value));

    [Theory]
    // no rollback: the quarter hours only, with jitter attributed to the boundary the firing belongs to
    [InlineData("10:15:00", "", true)]
    [InlineData("10:15:03", "", true)]      // late by 3 s
    [InlineData("10:19:00", "", true)]      // late by 4 min: still the 10:15 firing
    [InlineData("10:14:45", "", true)]      // early by 15 s
    [InlineData("10:14:29", "", false)]     // more than 30 s early: the 10:10 firing
    [InlineData("10:20:00", "", false)]
    [InlineData("10:05:00", "", false)]
    // rollback at 10:15:40: every firing from 10:20 to 10:45 is due, 10:50 and 10:55 are not
    [InlineData("10:20:00", "10:15:40", true)]
    [InlineData("10:24:58", "10:25:00", true)]  // 2 s early: the firing belongs to 10:25, the rollback's own boundary
    [InlineData("10:25:02", "10:15:40", true)]
    [InlineData("10:40:00", "10:15:40", true)]
    [InlineData("10:45:00", "10:15:40", true)]
    [InlineData("10:50:00", "10:15:40", false)]
    [InlineData("10:55:00", "10:15:40", false)]
    [InlineData("11:00:00", "10:15:40", true)]
    // rollback exactly on a boundary: fast boundaries 10:10 … 10:35
    [InlineData("10:10:00", "10:10:00", true)]
    [InlineData("10:35:00", "10:10:00", true)]
    [InlineData("10:40:00", "10:10:00", false)]
    // clock skew: a rollback after the boundary the firing belongs to does not make that firing due
    [InlineData("10:20:02", "10:20:10", false)]
    [InlineData("10:25:00", "10:20:10", true)]
    [InlineData("10:20:00", "+1d 10:00:00", false)]
    public void IsDue_runs_on_quarter_hours_and_on_every_firing_of_the_fast_period(string now, string rollback, bool expected) =>
        Assert.Equal(expected, CollectorCadence.IsDue(At(now)!.Value, At(rollback)));

    // ------------------------------------------------------------------------------------------------ properties

    private static Config Seeded(int maxTest)
    {
        var seed = ulong.TryParse(Environment.GetEnvironmentVariable("CADENCE_SEED"), out var s) ? s : 20261120UL;
        return Config.QuickThrowOnFailure.WithMaxTest(maxTest)
            .WithReplay(Microsoft.FSharp.Core.FSharpOption<Replay>.Some(new Replay(new Rnd(seed, 0x9E3779B97F4A7C15UL), Microsoft.FSharp.Core.FSharpOption<int>.None)));
    }

    /// <summary>A start instant (ms resolution, any time of a day) and a rollback around it: none, anywhere from 2 h before
    /// to 4 h after, or exactly on a 5-minute boundary near it.</summary>
    private static readonly Gen<(DateTimeOffset Start, DateTimeOffset? Rollback)> StartAndRollback =
        from startMs in Gen.Choose(0, 86_400_000 - 1)
        from kind in Gen.Frequency((1, Gen.Constant(0)), (6, Gen.Constant(1)), (2, Gen.Constant(2)))
        from offsetMs in Gen.Choose(-7_200_000, 14_400_000)
        from steps in Gen.Choose(-40, 40)
        let start = T.AddMilliseconds(startMs)
        select (start, kind switch
        {
            0 => (DateTimeOffset?)null,
            1 => start.AddMilliseconds(offsetMs),
            _ => CollectorCadence.NextBoundary(start) + steps * CollectorCadence.Fast,
        });

    private static bool OnBoundary(DateTimeOffset t, TimeSpan every) => t.UtcTicks % every.Ticks == 0;

    [Fact]
    public void Runs_are_exactly_the_quarter_hours_plus_the_5_minute_boundaries_of_the_fast_period_and_never_15_minutes_apart()
    {
        Prop.ForAll(StartAndRollback.ToArbitrary(), input =>
        {
            var (start, rollback) = input;
            var end = start.AddHours(6);
            var runs = new List<DateTimeOffset>();
            for (var t = CollectorCadence.NextRun(start, rollback, Scheduled); t <= end; t = CollectorCadence.NextRun(t, rollback, Scheduled))
                runs.Add(t);

            // What the rules say: every quarter hour, and every 5-minute boundary in [rollback, rollback + 30 min).
            var expected = new List<DateTimeOffset>();
            for (var b = CollectorCadence.NextBoundary(start); b <= end; b += CollectorCadence.Fast)
                if (OnBoundary(b, CollectorCadence.Normal) || CollectorCadence.IsFast(b, rollback))
                    expected.Add(b);
            Assert.Equal(expected, runs);

            var previous = start;
            foreach (var run in runs)
            {
                Assert.InRange(run - previous, TimeSpan.FromTicks(1), CollectorCadence.Normal);
                // A run off the quarter hours is a fast run: on a 5-minute boundary, within 30 minutes after the rollback.
                if (!OnBoundary(run, CollectorCadence.Normal))
                {
                    Assert.True(OnBoundary(run, CollectorCadence.Fast));
                    Assert.NotNull(rollback);
                    Assert.InRange(run - rollback!.Value, TimeSpan.Zero, CollectorCadence.FastFor - TimeSpan.FromTicks(1));
                }
                previous = run;
            }
            // Within the fast period the cadence is every 5 minutes: 6 runs in a fast period that lies wholly in the horizon.
            if (rollback is { } r && r > start && r + CollectorCadence.FastFor < end)
                Assert.Equal(6, runs.Count(x => x >= r && x < r + CollectorCadence.FastFor));
        }).Check(Seeded(500));
    }

    [Fact]
    public void IsDue_on_a_5_minute_timer_agrees_with_NextRun_for_any_firing_jitter_within_the_tolerance()
    {
        var gen =
            from input in StartAndRollback
            from jitterMs in Gen.Choose(-30_000, 269_999) // up to 30 s early, up to 4 min 30 s late
            select (Boundary: CollectorCadence.NextBoundary(input.Start), input.Rollback, Jitter: TimeSpan.FromMilliseconds(jitterMs));
        Prop.ForAll(gen.ToArbitrary(), x =>
        {
            var isRun = CollectorCadence.NextRun(x.Boundary - TimeSpan.FromTicks(1), x.Rollback, Scheduled) == x.Boundary;
            Assert.Equal(isRun, CollectorCadence.IsDue(x.Boundary + x.Jitter, x.Rollback));
            Assert.Equal(x.Boundary, CollectorCadence.BoundaryOf(x.Boundary + x.Jitter));
        }).Check(Seeded(1000));
    }
}
