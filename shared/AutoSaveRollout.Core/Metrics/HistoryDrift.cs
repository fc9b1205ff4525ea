namespace AutoSaveRollout.Core.Metrics;

/// <summary>
/// <c>history_drift</c>: the mean count of <c>autosave.history.drift</c> events over the current window and up to the 3
/// previous windows (a 1-hour moving average), never reaching back across a phase change or before the first window.
/// </summary>
public static class HistoryDrift
{
    /// <summary>Windows in the moving average, the current one included.</summary>
    public const int WindowCount = 4;

    /// <summary>
    /// Mean of <paramref name="currentCount"/> and <paramref name="previousCounts"/> (most recent first, already cut at the
    /// phase segment; only the first 3 are used). Returns the mean and the number of windows it covered.
    /// </summary>
    public static (double Mean, int Windows) MovingAverage(long currentCount, IEnumerable<long> previousCounts)
    {
        long sum = currentCount;
        var k = 1;
        foreach (var c in previousCounts)
        {
            if (k == WindowCount) break;
            sum += c;
            k++;
        }
        return ((double)sum / k, k);
    }
}
