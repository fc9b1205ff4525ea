using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.Telemetry;

namespace AutoSaveRollout.Benchmarks;

/// <summary>The batches the Analyzer benchmarks stream. Each is generated deterministically (fixed seed).</summary>
public enum BatchKind
{
    /// <summary>10,000 lines of ordinary traffic (≈ 99.8 % completed saves with <c>duration_ms</c>, ≈ 0.2 % errors).</summary>
    Saves10k,
    /// <summary>100,000 lines of ordinary traffic.</summary>
    Saves100k,
    /// <summary>1,000,000 lines of ordinary traffic.</summary>
    Saves1M,
    /// <summary>
    /// 1,000,000 lines of which only ≈ 10 % are completed saves (≈ 100k durations, like <see cref="Saves100k"/>);
    /// the rest are <c>autosave.save.error</c> (≈ 85 %) and <c>autosave.history.drift</c> (≈ 5 %) lines.
    /// Same raw size as <see cref="Saves1M"/>, same number of durations as <see cref="Saves100k"/>.
    /// </summary>
    NonDuration1M,
    /// <summary>
    /// 100,000 lines of ordinary traffic, each carrying an extra 1 KiB <c>client_context</c> string field (≈ 10× the bytes
    /// of <see cref="Saves100k"/>, same durations). The Collector never writes such fields (it keeps only the typed
    /// fields), so this models a batch from another producer: the Analyzer must skip unknown fields without buffering them.
    /// </summary>
    Padded100k,
}

/// <summary>
/// Deterministic telemetry for the benchmarks: raw lines from <see cref="TelemetryGenerator"/> (seed
/// <see cref="Seed"/>, one 15-minute window) and the normalised batch the Collector would write for them
/// (<see cref="TelemetryLineParser.Parse"/> then <c>Collector.WriteNormalised</c>: event_id, ts, event,
/// duration_ms / retryable / error_code).
/// </summary>
public static class BatchFactory
{
    /// <summary>Generator seed used by every benchmark batch.</summary>
    public const int Seed = 20261120;

    /// <summary>Length in bytes of the extra field value added to every line of <see cref="BatchKind.Padded100k"/>.</summary>
    public const int PaddingBytes = 1024;

    private static readonly DateTimeOffset WindowStart = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan WindowLength = TimeSpan.FromMinutes(15);
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Exact number of lines (events) in a batch of <paramref name="kind"/>.</summary>
    public static int LineCount(BatchKind kind) => kind switch
    {
        BatchKind.Saves10k => 10_000,
        BatchKind.Saves100k or BatchKind.Padded100k => 100_000,
        BatchKind.Saves1M or BatchKind.NonDuration1M => 1_000_000,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The normalised JSONL batch (UTF-8, LF after every line) of <paramref name="kind"/>.</summary>
    public static byte[] NormalisedBatch(BatchKind kind)
    {
        var lines = LineCount(kind);
        var raw = kind == BatchKind.NonDuration1M
            ? RawLines(lines, errorRatio: 0.895, driftShare: 0.05)
            : RawLines(lines, errorRatio: 0.002, driftShare: 0);
        return Normalise(raw, kind == BatchKind.Padded100k ? PaddingBytes : 0);
    }

    /// <summary>
    /// Exactly <paramref name="count"/> raw telemetry lines (without LF) of one 15-minute window: the first
    /// <paramref name="count"/> lines of a <see cref="TelemetryGenerator"/> run sized to produce about 10 % more.
    /// <paramref name="errorRatio"/> is the share (0–1) of save attempts that fail; <paramref name="driftShare"/> the
    /// approximate share (0–1) of all lines that are <c>autosave.history.drift</c>.
    /// </summary>
    public static List<string> RawLines(int count, double errorRatio, double driftShare)
    {
        var target = count * 1.1;
        var options = new TelemetryGeneratorOptions
        {
            Start = WindowStart,
            Duration = WindowLength,
            Seed = Seed,
            SavesPerSecond = target * (1 - driftShare) / WindowLength.TotalSeconds,
            ErrorRatio = errorRatio,
            DriftPerHour = target * driftShare / WindowLength.TotalHours,
        };
        using var buffer = new MemoryStream();
        using (var writer = new StreamWriter(buffer, new UTF8Encoding(false), 1 << 16, leaveOpen: true))
            TelemetryGenerator.Write(options, writer);
        buffer.Position = 0;
        using var reader = new StreamReader(buffer, Encoding.UTF8);
        var lines = new List<string>(count);
        while (lines.Count < count && reader.ReadLine() is { } line) lines.Add(line);
        if (lines.Count < count) throw new InvalidOperationException($"generator produced {lines.Count} lines, {count} needed");
        return lines;
    }

    /// <summary>
    /// Validates every raw line like the Collector and writes its normalised form; with <paramref name="paddingBytes"/>
    /// &gt; 0 every line also gets a <c>client_context</c> string of that many ASCII characters (after the typed fields).
    /// Throws <see cref="InvalidDataException"/> if a generated line is not accepted.
    /// </summary>
    public static byte[] Normalise(IEnumerable<string> rawLines, int paddingBytes = 0)
    {
        var output = new ArrayBufferWriter<byte>(1 << 20);
        var line = new ArrayBufferWriter<byte>(256);
        var padding = Padding(paddingBytes);
        foreach (var raw in rawLines)
        {
            var parsed = TelemetryLineParser.Parse(raw);
            if (parsed.Outcome != LineOutcome.Accepted) throw new InvalidDataException($"generated line rejected: {parsed.Reason}");
            if (paddingBytes == 0)
            {
                Collector.WriteNormalised(output, parsed.Event!, WriterOptions);
                continue;
            }
            // Normalised line, then splice the extra field in before its closing brace.
            line.ResetWrittenCount();
            Collector.WriteNormalised(line, parsed.Event!, WriterOptions);
            var written = line.WrittenSpan;
            var close = written.LastIndexOf((byte)'}');
            output.Write(written[..close]);
            output.Write(",\"client_context\":\""u8);
            output.Write(padding);
            output.Write("\"}\n"u8);
        }
        return output.WrittenSpan.ToArray();
    }

    private static byte[] Padding(int length)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 =;:/.-_";
        var rng = new Random(Seed);
        var bytes = new byte[length];
        for (var i = 0; i < length; i++) bytes[i] = (byte)alphabet[rng.Next(alphabet.Length)];
        return bytes;
    }
}
