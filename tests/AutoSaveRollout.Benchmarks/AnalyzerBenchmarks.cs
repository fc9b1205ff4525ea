using BenchmarkDotNet.Attributes;
using AutoSaveRollout.Core.Metrics;
using AutoSaveRollout.Core.Pipeline;

namespace AutoSaveRollout.Benchmarks;

/// <summary>
/// Analyzer batch analysis: <see cref="Analyzer.AccumulateAsync"/> over a normalised batch held in a
/// <see cref="MemoryStream"/> (no storage I/O), then the P95 (seconds) and the error rate (percent), exactly what
/// <c>Analyzer.DecideAsync</c> computes from a batch. One benchmark operation = one whole batch, so <c>Allocated</c> is the
/// managed allocation per batch (steady state, pool warm) and <c>Events/s</c> / <c>MiB/s</c> are derived from the mean.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class AnalyzerBenchmarks
{
    private byte[] _batch = [];

    /// <summary>Which generated batch to analyse (see <see cref="BatchKind"/>).</summary>
    [Params(BatchKind.Saves10k, BatchKind.Saves100k, BatchKind.Saves1M, BatchKind.NonDuration1M, BatchKind.Padded100k)]
    public BatchKind Batch { get; set; }

    /// <summary>
    /// Generates the batch, then runs one analysis while <c>ArrayPool.Shared</c> is still cold (fresh process) and records
    /// its allocation with the batch facts for the summary columns.
    /// </summary>
    [GlobalSetup]
    public void Setup()
    {
        _batch = BatchFactory.NormalisedBatch(Batch);
        var before = GC.GetAllocatedBytesForCurrentThread();
        var (completed, _) = Analyse(_batch);
        var firstRun = GC.GetAllocatedBytesForCurrentThread() - before;
        new BatchFacts(BatchFactory.LineCount(Batch), _batch.LongLength, completed, firstRun)
            .Save(FactColumn.Key(typeof(AnalyzerBenchmarks), Batch));
    }

    /// <summary>Streams the batch into a fresh accumulator and computes P95 and error rate; returns their sum.</summary>
    [Benchmark]
    public double AnalyzeBatch() => Analyse(_batch).Result;

    // MemoryStream reads complete synchronously, so the task is complete on return; the check keeps it honest.
    private static (long Completed, double Result) Analyse(byte[] batch)
    {
        using var acc = new BatchAccumulator();
        using var stream = new MemoryStream(batch, writable: false);
        var task = Analyzer.AccumulateAsync(stream, acc);
        if (!task.IsCompletedSuccessfully) throw new InvalidOperationException("AccumulateAsync did not complete synchronously");
        return (acc.Completed, (acc.P95Seconds() ?? 0) + (acc.ErrorRatePct() ?? 0));
    }
}
