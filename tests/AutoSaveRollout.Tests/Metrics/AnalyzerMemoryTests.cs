using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using AutoSaveRollout.Core.Metrics;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Telemetry;
using Xunit.Abstractions;

namespace AutoSaveRollout.Tests.Metrics;

/// <summary>
/// The Analyzer streams its batch: what it allocates depends on the number of durations it keeps, not on the raw batch
/// size. Not a timing test: it compares managed allocations (<see cref="GC.GetAllocatedBytesForCurrentThread"/>) of two
/// batches with the SAME completed saves, one about 10× larger in bytes.
/// </summary>
public class AnalyzerMemoryTests(ITestOutputHelper output)
{
    private const int Saves = 20_000;
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Fact]
    public void Extra_non_duration_events_do_not_increase_allocation()
    {
        var small = Batch(extraEventsPerSave: 0, paddingBytes: 0);
        var large = Batch(extraEventsPerSave: 9, paddingBytes: 0);

        var (smallResult, largeResult) = AssertStreaming(small, large);

        // 9 extra lines per save: 3 retryable errors, 3 fatal errors, 3 drift events.
        Assert.Equal(new Counts(Saves, 0, 0, 0), smallResult with { P95Seconds = null });
        Assert.Equal(new Counts(Saves, Saves * 6L, Saves * 3L, Saves * 3L), largeResult with { P95Seconds = null });
    }

    [Fact]
    public void Long_extra_fields_do_not_increase_allocation()
    {
        var small = Batch(extraEventsPerSave: 0, paddingBytes: 0);
        var large = Batch(extraEventsPerSave: 0, paddingBytes: 1200);

        var (_, largeResult) = AssertStreaming(small, large);

        Assert.Equal(new Counts(Saves, 0, 0, 0), largeResult with { P95Seconds = null });
    }

    // What one analysis produced.
    private sealed record Counts(long Completed, long Errors, long Retryable, long Drift, double? P95Seconds = null);

    // Both batches hold the same Saves completed saves; the large one is ≥ 9× the bytes.
    private (Counts Small, Counts Large) AssertStreaming(byte[] small, byte[] large)
    {
        Assert.True(large.Length >= 9L * small.Length, $"test setup: large batch only {large.Length} B vs {small.Length} B");

        // Warm-up pass for each, so that both measured passes find ArrayPool.Shared equally warm.
        Analyse(small);
        Analyse(large);
        var (smallAllocated, smallResult) = Analyse(small);
        var (largeAllocated, largeResult) = Analyse(large);

        // Both batches were really analysed, with identical durations.
        Assert.Equal(Saves, smallResult.Completed);
        Assert.Equal(Saves, largeResult.Completed);
        Assert.NotNull(smallResult.P95Seconds);
        Assert.Equal(smallResult.P95Seconds, largeResult.P95Seconds);

        var rawDifference = (long)large.Length - small.Length;
        var allocationDifference = largeAllocated - smallAllocated;
        output.WriteLine($"batch bytes {small.Length:N0} → {large.Length:N0}; allocated {smallAllocated:N0} B → {largeAllocated:N0} B");
        Assert.True(allocationDifference < rawDifference / 10,
            $"allocation grew by {allocationDifference:N0} B ({smallAllocated:N0} → {largeAllocated:N0}) for {rawDifference:N0} more batch bytes: " +
            "the batch is being buffered instead of streamed");
        return (smallResult, largeResult);
    }

    // One analysis as the Analyzer does it (fresh accumulator, AccumulateAsync, P95, dispose) and the bytes it allocated on
    // this thread. MemoryStream reads complete synchronously, so all the work happens on this thread; the IsCompleted check
    // fails loudly should that ever change.
    private static (long Allocated, Counts Result) Analyse(byte[] batch)
    {
        using var stream = new MemoryStream(batch, writable: false);
        var before = GC.GetAllocatedBytesForCurrentThread();
        Task<long> task;
        Counts result;
        using (var acc = new BatchAccumulator())
        {
            task = Analyzer.AccumulateAsync(stream, acc);
            result = new Counts(acc.Completed, acc.Errors, acc.RetryableErrors, acc.DriftEvents, acc.P95Seconds());
        }
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.True(task.IsCompletedSuccessfully, "AccumulateAsync over a MemoryStream must complete synchronously for this measurement");
        Assert.Equal(batch.Count(b => b == (byte)'\n'), task.Result);
        return (allocated, result);
    }

    // Normalised batch (Collector.WriteNormalised) of Saves completed saves with deterministic durations; after each save
    // extraEventsPerSave non-duration lines (cycling retryable error, fatal error, drift); with paddingBytes > 0 each save
    // line also carries a "client_context" string of that length.
    private static byte[] Batch(int extraEventsPerSave, int paddingBytes)
    {
        var output = new ArrayBufferWriter<byte>(1 << 20);
        var line = new ArrayBufferWriter<byte>(256);
        var pad = new string('p', paddingBytes);
        var rng = new Random(42);
        var n = 0;
        for (var i = 0; i < Saves; i++)
        {
            var ts = T0.AddMilliseconds(i * 40);
            var save = new TelemetryEvent($"evt-{n++:D8}", ts, TelemetryEventKind.SaveCompleted, EventNames.SaveCompleted,
                Math.Round(300 + rng.NextDouble() * 1500, 3), null, null);
            if (paddingBytes == 0)
            {
                Collector.WriteNormalised(output, save, WriterOptions);
            }
            else
            {
                line.ResetWrittenCount();
                Collector.WriteNormalised(line, save, WriterOptions);
                var written = line.WrittenSpan;
                output.Write(written[..written.LastIndexOf((byte)'}')]);
                output.Write(",\"client_context\":\""u8);
                output.Write(System.Text.Encoding.ASCII.GetBytes(pad));
                output.Write("\"}\n"u8);
            }
            for (var k = 0; k < extraEventsPerSave; k++)
            {
                var extra = (k % 3) switch
                {
                    0 => new TelemetryEvent($"evt-{n++:D8}", ts, TelemetryEventKind.SaveError, EventNames.SaveError, null, true, "ETIMEDOUT"),
                    1 => new TelemetryEvent($"evt-{n++:D8}", ts, TelemetryEventKind.SaveError, EventNames.SaveError, null, false, "QUOTA"),
                    _ => new TelemetryEvent($"evt-{n++:D8}", ts, TelemetryEventKind.HistoryDrift, EventNames.HistoryDrift, null, null, null),
                };
                Collector.WriteNormalised(output, extra, WriterOptions);
            }
        }
        return output.WrittenSpan.ToArray();
    }
}
