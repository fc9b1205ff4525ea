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

    /// <summary>
    /// The same value as <see cref="Type7"/> for finite <paramref name="values"/> (no NaN), found by selection instead of
    /// a full sort: introselect (quickselect with median-of-three pivots, falling back to sorting a part that does not
    /// shrink) places the ⌊h⌋-th smallest value, and the next order statistic is the minimum of the part above it. Linear
    /// time on average; <paramref name="values"/> is reordered (not sorted). Same errors as <see cref="Type7"/>.
    /// </summary>
    public static double? Type7Select(Span<double> values, double p)
    {
        if (p is < 0 or > 1 || double.IsNaN(p)) throw new ArgumentOutOfRangeException(nameof(p), p, "quantile must be in [0, 1]");
        if (values.IsEmpty) return null;
        var h = (values.Length - 1) * p;
        var lo = (int)Math.Floor(h);
        if (lo >= values.Length - 1)
        {
            var max = values[0];
            foreach (var v in values) if (v > max) max = v;
            return max;
        }
        Select(values, lo);
        var a = values[lo];
        var b = values[lo + 1];
        foreach (var v in values[(lo + 2)..]) if (v < b) b = v;
        var t = h - lo;
        var diff = b - a;
        return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
    }

    // Reorders values so that values[k] is the k-th smallest, everything before it ≤ and everything after it ≥.
    private static void Select(Span<double> values, int k)
    {
        int left = 0, right = values.Length - 1;
        var budget = 2 * (64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)values.Length));
        while (right > left)
        {
            if (budget-- == 0)
            {
                values[left..(right + 1)].Sort();
                return;
            }
            // Median of three as pivot, then Hoare partition.
            var mid = left + ((right - left) >> 1);
            if (values[mid] < values[left]) (values[mid], values[left]) = (values[left], values[mid]);
            if (values[right] < values[left]) (values[right], values[left]) = (values[left], values[right]);
            if (values[right] < values[mid]) (values[right], values[mid]) = (values[mid], values[right]);
            var pivot = values[mid];
            int i = left, j = right;
            while (i <= j)
            {
                while (values[i] < pivot) i++;
                while (values[j] > pivot) j--;
                if (i <= j)
                {
                    (values[i], values[j]) = (values[j], values[i]);
                    i++;
                    j--;
                }
            }
            if (k <= j) right = j;
            else if (k >= i) left = i;
            else return;
        }
    }
}
