namespace AutoSaveRollout.Core.Metrics;

/// <summary>
/// Exact sample quantiles by linear interpolation between closest ranks: Hyndman &amp; Fan type 7, the default of numpy
/// (<c>np.percentile(x, q)</c>, method "linear"), R's <c>quantile(type = 7)</c> and Excel PERCENTILE.INC.
/// With sorted values x[0..n-1]: h = (n − 1)·p, result = x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]).
/// </summary>
public static class Percentile
{
    /// <summary>
    /// The <paramref name="p"/>-quantile (0 ≤ p ≤ 1) of <paramref name="values"/>, which is sorted IN PLACE.
    /// Returns null for an empty span. Throws <see cref="ArgumentOutOfRangeException"/> for p outside [0, 1].
    /// The interpolation follows numpy's <c>_lerp</c> (a + (b−a)·t for t &lt; 0.5, b − (b−a)·(1−t) otherwise) so results match
    /// numpy to the last bit in the common case.
    /// </summary>
    public static double? Type7(Span<double> values, double p)
    {
        if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "quantile must be in [0, 1]");
        if (values.IsEmpty) return null;
        values.Sort();
        var h = (values.Length - 1) * p;
        var lo = (int)Math.Floor(h);
        if (lo >= values.Length - 1) return values[^1];
        var t = h - lo;
        double a = values[lo], b = values[lo + 1];
        var diff = b - a;
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }
}
