using System.Buffers;

namespace AutoSaveRollout.Core.Metrics;

/// <summary>
/// Streaming per-window counters for the Analyzer. Memory grows only with the number of completed-save durations
/// (8 bytes each, pooled), never with the raw batch size. Not thread-safe. Dispose returns the pooled buffer.
/// </summary>
public sealed class BatchAccumulator : IDisposable
{
    private double[] _durations = ArrayPool<double>.Shared.Rent(256);
    private int _count;

    /// <summary>Number of <c>autosave.save.completed</c> events.</summary>
    public long Completed => _count;

    /// <summary>Number of <c>autosave.save.error</c> events.</summary>
    public long Errors { get; private set; }

    /// <summary>Number of retryable <c>autosave.save.error</c> events.</summary>
    public long RetryableErrors { get; private set; }

    /// <summary>Number of <c>autosave.history.drift</c> events.</summary>
    public long DriftEvents { get; private set; }

    /// <summary>Adds a completed save of <paramref name="durationMs"/> milliseconds.</summary>
    public void AddCompleted(double durationMs)
    {
        if (_count == _durations.Length)
        {
            var bigger = ArrayPool<double>.Shared.Rent(_durations.Length * 2);
            Array.Copy(_durations, bigger, _count);
            ArrayPool<double>.Shared.Return(_durations);
            _durations = bigger;
        }
        _durations[_count++] = durationMs;
    }

    /// <summary>Adds a failed save.</summary>
    public void AddError(bool retryable)
    {
        Errors++;
        if (retryable) RetryableErrors++;
    }

    /// <summary>Adds a history drift event.</summary>
    public void AddDrift() => DriftEvents++;

    /// <summary>P95 save latency in SECONDS (type 7 on the millisecond values, then ÷ 1000); null with no completed save.</summary>
    public double? P95Seconds()
    {
        var ms = Percentile.Type7(_durations.AsSpan(0, _count), 0.95);
        return ms / 1000.0;
    }

    /// <summary>
    /// Completed saves whose duration is strictly greater than <paramref name="seconds"/> SECONDS (compared as
    /// duration_ms ÷ 1000, like <see cref="P95Seconds"/>): k of the confidence gate's P95 test (issue 11).
    /// </summary>
    public long CountAboveSeconds(double seconds)
    {
        long k = 0;
        foreach (var ms in _durations.AsSpan(0, _count))
            if (ms / 1000.0 > seconds) k++;
        return k;
    }

    /// <summary>Error rate in PERCENT: 100 × errors / (completed + errors); null when there is no save at all.</summary>
    public double? ErrorRatePct()
    {
        var total = Completed + Errors;
        return total == 0 ? null : 100.0 * Errors / total;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_durations.Length > 0) ArrayPool<double>.Shared.Return(_durations);
        _durations = [];
        _count = 0;
    }
}
