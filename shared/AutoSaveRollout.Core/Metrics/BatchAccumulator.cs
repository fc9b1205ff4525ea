using System.Runtime.InteropServices;

namespace AutoSaveRollout.Core.Metrics;

/// <summary>
/// Streaming per-window counters for the Analyzer. Memory grows only with the number of completed-save durations
/// (8 bytes each, in one native buffer grown with <c>realloc</c>, so growing does not copy through a second managed array
/// and <see cref="Dispose"/> gives the memory back to the OS at once), never with the raw batch size. Not thread-safe.
/// </summary>
public sealed unsafe class BatchAccumulator : IDisposable
{
    private double* _durations;
    private long _capacity;
    private long _count;

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
        if (_count == _capacity)
        {
            var capacity = Math.Max(4096, _capacity * 2);
            _durations = (double*)NativeMemory.Realloc(_durations, (nuint)(capacity * sizeof(double)));
            _capacity = capacity;
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

    /// <summary>
    /// P95 save latency in SECONDS (type 7 on the millisecond values, then ÷ 1000); null with no completed save. Uses
    /// <see cref="Percentile.Type7Select"/> (same result as sorting, in linear time); reorders the kept durations.
    /// </summary>
    public double? P95Seconds()
    {
        if (_count > int.MaxValue) throw new InvalidOperationException("more than 2^31 durations in one window");
        var ms = Percentile.Type7Select(new Span<double>(_durations, (int)_count), 0.95);
        return ms / 1000.0;
    }

    /// <summary>
    /// Completed saves whose duration is strictly greater than <paramref name="seconds"/> SECONDS (compared as
    /// duration_ms ÷ 1000, like <see cref="P95Seconds"/>): k of the confidence gate's P95 test (issue 11).
    /// </summary>
    public long CountAboveSeconds(double seconds)
    {
        long k = 0;
        foreach (var ms in new ReadOnlySpan<double>(_durations, (int)_count))
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
        NativeMemory.Free(_durations);
        _durations = null;
        _capacity = _count = 0;
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the native buffer if <see cref="Dispose"/> was not called.</summary>
    ~BatchAccumulator() => Dispose();
}
