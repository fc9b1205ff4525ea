using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Telemetry;

namespace AutoSaveRollout.Benchmarks;

/// <summary>
/// The Collector's per-line hot path over <see cref="Lines"/> generated raw telemetry lines (ordinary traffic, all
/// valid). Here the line count is a constant, so <c>OperationsPerInvoke = Lines</c>: <c>Mean</c> is time PER LINE and
/// <c>Allocated</c> is bytes PER LINE.
/// </summary>
[Config(typeof(BenchConfig))]
[MemoryDiagnoser]
public class LineValidationBenchmarks
{
    /// <summary>Raw lines validated per invocation.</summary>
    public const int Lines = 100_000;

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private string[] _lines = [];
    private readonly ArrayBufferWriter<byte> _output = new(1 << 20);

    /// <summary>Generates the lines and records their facts for the summary columns.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _lines = BatchFactory.RawLines(Lines, errorRatio: 0.002, driftShare: 0).ToArray();
        var bytes = _lines.Sum(l => (long)Encoding.UTF8.GetByteCount(l) + 1);
        new BatchFacts(Lines, bytes, null, null).Save(FactColumn.Key(typeof(LineValidationBenchmarks), null));
    }

    /// <summary><see cref="TelemetryLineParser.Parse"/> alone; returns the number of accepted lines.</summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public int Parse()
    {
        var accepted = 0;
        foreach (var line in _lines)
            if (TelemetryLineParser.Parse(line).Outcome == LineOutcome.Accepted) accepted++;
        return accepted;
    }

    /// <summary>
    /// What the Collector does per line apart from I/O: parse, drop repeated event ids (a per-window set), write the
    /// normalised line into the block buffer (reset every 1 MiB like <c>CollectorOptions.BlockBytes</c>).
    /// </summary>
    [Benchmark(OperationsPerInvoke = Lines)]
    public long ParseDedupNormalise()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        long written = 0;
        _output.ResetWrittenCount();
        foreach (var line in _lines)
        {
            var parsed = TelemetryLineParser.Parse(line);
            if (parsed.Outcome != LineOutcome.Accepted || !seen.Add(parsed.Event!.EventId)) continue;
            Collector.WriteNormalised(_output, parsed.Event, WriterOptions);
            if (_output.WrittenCount >= 1 << 20)
            {
                written += _output.WrittenCount;
                _output.ResetWrittenCount();
            }
        }
        return written + _output.WrittenCount;
    }
}
