namespace AutoSaveRollout.Tests.Support;

public sealed class ManualTimeProviderTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Clock_moves_only_when_told()
    {
        var time = new ManualTimeProvider(Start);
        Assert.Equal(Start, time.GetUtcNow());

        time.Advance(TimeSpan.FromMinutes(15));
        Assert.Equal(Start.AddMinutes(15), time.GetUtcNow());

        time.SetUtcNow(Start.AddHours(-1));
        Assert.Equal(Start.AddHours(-1), time.GetUtcNow());
        Assert.Throws<ArgumentOutOfRangeException>(() => time.Advance(TimeSpan.FromTicks(-1)));
    }

    [Fact]
    public void Set_utc_now_normalises_to_utc_and_timestamps_follow_the_clock()
    {
        var time = new ManualTimeProvider(Start);
        var t0 = time.GetTimestamp();
        time.SetUtcNow(new DateTimeOffset(2026, 11, 20, 12, 0, 0, TimeSpan.FromHours(2)));

        Assert.Equal(TimeSpan.Zero, time.GetUtcNow().Offset);
        Assert.Equal(Start, time.GetUtcNow());
        time.Advance(TimeSpan.FromSeconds(90));
        Assert.Equal(TimeSpan.FromSeconds(90), time.GetElapsedTime(t0));
    }

    [Fact]
    public async Task Task_delay_completes_when_the_clock_passes_its_due_time()
    {
        var time = new ManualTimeProvider(Start);
        var delay = Task.Delay(TimeSpan.FromSeconds(10), time);

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(delay.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        await delay.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public void Periodic_timers_fire_once_per_period_in_due_order_with_the_clock_at_each_due_time()
    {
        var time = new ManualTimeProvider(Start);
        var fired = new List<(string, DateTimeOffset)>();
        using var a = time.CreateTimer(_ => fired.Add(("a", time.GetUtcNow())), null, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(5));
        using var b = time.CreateTimer(_ => fired.Add(("b", time.GetUtcNow())), null, TimeSpan.FromSeconds(7), Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromSeconds(16));

        Assert.Equal(
            [("a", Start.AddSeconds(5)), ("b", Start.AddSeconds(7)), ("a", Start.AddSeconds(10)), ("a", Start.AddSeconds(15))],
            fired);
        Assert.Equal(Start.AddSeconds(16), time.GetUtcNow());
    }

    [Fact]
    public void Disposed_or_disabled_timers_do_not_fire()
    {
        var time = new ManualTimeProvider(Start);
        var count = 0;
        var t1 = time.CreateTimer(_ => count++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        using var t2 = time.CreateTimer(_ => count++, null, TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        t1.Dispose();
        t2.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

        time.Advance(TimeSpan.FromMinutes(1));

        Assert.Equal(0, count);
    }

    [Fact]
    public void Concurrent_advances_are_not_lost()
    {
        var time = new ManualTimeProvider(Start);
        Parallel.For(0, 20_000, _ => time.Advance(TimeSpan.FromSeconds(1)));
        Assert.Equal(Start.AddSeconds(20_000), time.GetUtcNow());
    }
}
