using AutoSaveRollout.Core.Gates;

namespace AutoSaveRollout.Tests.Gates;

public sealed class BinomialTailTests
{
    // References: P(X >= x) for X ~ Binomial(n, p), computed independently with Python mpmath at 50 digits (pmf at x from
    // log-gamma, then the recurrence pmf(k+1) = pmf(k)(n-k)/(k+1) p/(1-p) summed to 1e-40 relative); the small cases were
    // also checked with mpmath's regularized incomplete beta betainc(x, n-x+1, 0, p).
    [Theory]
    [InlineData(10L, 3L, 0.1, 0.07019082640000001)]
    [InlineData(225L, 5L, 0.01, 0.077022897926064831)]
    [InlineData(225L, 2L, 0.005, 0.31022738542043084)]
    [InlineData(225L, 7L, 0.01, 0.0080179594578773031)]
    [InlineData(900L, 19L, 0.01, 0.0022980109044409286)]
    [InlineData(900L, 5L, 0.005, 0.46813419578165794)]
    [InlineData(50L, 5L, 0.05, 0.10361681014414356)]
    [InlineData(2000L, 120L, 0.05, 0.025083630040535697)]
    [InlineData(100000L, 1100L, 0.01, 0.00091178034124510867)]
    [InlineData(1000000L, 10200L, 0.01, 0.022742497360522201)]
    [InlineData(10000000L, 30400L, 0.003, 0.010559384252117223)]
    [InlineData(10000000L, 500500L, 0.05, 0.23427076965235312)]
    [InlineData(10000000L, 29000L, 0.003, 0.99999999699758168)]
    [InlineData(5000L, 1L, 0.0001, 0.39348450437525514)]
    [InlineData(10000000L, 31500L, 0.003, 3.9587596104486746e-18)]
    [InlineData(225L, 30L, 0.01, 2.755328324953792e-24)]
    [InlineData(10L, 10L, 0.5, 0.0009765625)] // exactly 2^-10
    public void Upper_tail_matches_independent_high_precision_values(long n, long x, double p, double expected)
    {
        // relative accuracy: 1e-11 up to n = 10^4, then it degrades with the log-gamma of large arguments (1e-10 at 10^5, 1e-8 at 10^7)
        var tolerance = n <= 10_000 ? 1e-11 : 2e-8;
        var actual = BinomialTail.UpperTail(n, x, p);
        Assert.True(Math.Abs(actual - expected) <= tolerance * expected, $"P(X >= {x} | Bin({n}, {p})) = {actual:R}, expected {expected:R}");
    }

    [Theory]
    [InlineData(0L, 0L, 0.3, 1.0)]        // x <= 0: certain
    [InlineData(100L, 0L, 0.3, 1.0)]
    [InlineData(100L, 101L, 0.3, 0.0)]    // more successes than trials: impossible
    [InlineData(100L, 1L, 0.0, 0.0)]      // p = 0: no success ever
    [InlineData(100L, 100L, 1.0, 1.0)]    // p = 1: all successes
    public void Edge_cases_are_exact(long n, long x, double p, double expected) =>
        Assert.Equal(expected, BinomialTail.UpperTail(n, x, p));

    [Fact]
    public void Tail_decreases_in_x_and_stays_in_0_1_for_large_n()
    {
        var previous = 1.0;
        for (long x = 29_000; x <= 32_000; x += 100)
        {
            var t = BinomialTail.UpperTail(10_000_000, x, 0.003);
            Assert.InRange(t, 0, previous);
            previous = t;
        }
    }

    [Fact]
    public void Bad_arguments_throw()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BinomialTail.UpperTail(-1, 0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => BinomialTail.UpperTail(10, 1, 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => BinomialTail.UpperTail(10, 1, double.NaN));
    }
}
