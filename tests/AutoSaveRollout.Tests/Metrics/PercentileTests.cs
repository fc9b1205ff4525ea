using AutoSaveRollout.Core.Metrics;
using FsCheck;
using FsCheck.Fluent;

namespace AutoSaveRollout.Tests.Metrics;

public class PercentileTests
{
    // Expected values are numpy.percentile(x, 95) (method "linear", type 7).
    [Theory]
    [InlineData(new double[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }, 9.55)]
    [InlineData(new double[] { 50, 15, 40, 20, 35 }, 48.0)]
    [InlineData(new double[] { 812 }, 812.0)]
    [InlineData(new double[] { 100, 200 }, 195.0)]
    [InlineData(new double[] { 7, 7, 7, 7 }, 7.0)]
    public void Type7_matches_numpy(double[] values, double expected)
    {
        Assert.Equal(expected, Percentile.Type7(values, 0.95)!.Value, 12);
    }

    [Fact]
    public void Empty_input_has_no_percentile() => Assert.Null(Percentile.Type7(Span<double>.Empty, 0.95));

    [Fact]
    public void Out_of_range_quantile_is_an_error() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => Percentile.Type7(new double[] { 1 }, 1.5));

    // Independent statement of the definition: Python statistics.quantiles(method="inclusive") closest-ranks interpolation.
    private static double Reference(double[] data, double p)
    {
        var x = data.OrderBy(v => v).ToArray();
        var pos = p * (x.Length - 1);
        var j = (int)Math.Floor(pos);
        if (j + 1 >= x.Length) return x[^1];
        return x[j] * (1 - (pos - j)) + x[j + 1] * (pos - j);
    }

    [Fact]
    public void Type7_agrees_with_the_closest_ranks_definition_on_random_samples()
    {
        Prop.ForAll(Gen.Choose(0, 1_000_000).Select(i => i / 100.0).NonEmptyListOf().ToArbitrary(), values =>
        {
            var arr = values.ToArray();
            var expected = Reference(arr, 0.95);
            var actual = Percentile.Type7(arr.ToArray(), 0.95)!.Value;
            return Math.Abs(expected - actual) <= 1e-9 * Math.Max(1, Math.Abs(expected));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Accumulator_reports_p95_in_seconds_and_error_rate_in_percent()
    {
        using var acc = new BatchAccumulator();
        for (var i = 1; i <= 1000; i++) acc.AddCompleted(i); // 1..1000 ms
        for (var i = 0; i < 10; i++) acc.AddError(retryable: i % 2 == 0);
        acc.AddDrift();
        Assert.Equal(0.95005, acc.P95Seconds()!.Value, 12); // numpy: percentile(1..1000, 95) = 950.05 ms
        Assert.Equal(100.0 * 10 / 1010, acc.ErrorRatePct());
        Assert.Equal(5, acc.RetryableErrors);
        Assert.Equal(1, acc.DriftEvents);
    }

    [Fact]
    public void Error_rate_is_undefined_without_saves()
    {
        using var acc = new BatchAccumulator();
        Assert.Null(acc.ErrorRatePct());
        Assert.Null(acc.P95Seconds());
    }

    [Fact]
    public void Drift_moving_average_covers_at_most_four_windows()
    {
        Assert.Equal((2.0, 1), HistoryDrift.MovingAverage(2, []));
        Assert.Equal((0.5, 2), HistoryDrift.MovingAverage(1, [0]));
        Assert.Equal((1.0, 4), HistoryDrift.MovingAverage(1, [0, 3, 0, 99]));
    }
}
