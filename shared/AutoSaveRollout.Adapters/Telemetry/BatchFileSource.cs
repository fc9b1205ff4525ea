using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Adapters.Telemetry;

/// <summary>
/// A single JSONL file read as ONE batch whatever window is asked for (the design's simulation mode,
/// <c>analyze --batch</c>). Pair it with <c>CollectorOptions.AcceptAnyTimestamp</c>.
/// </summary>
public sealed class BatchFileSource(string file) : ITelemetrySource
{
    /// <inheritdoc />
    public string Description => "batch:" + Path.GetFullPath(file);

    /// <inheritdoc />
    public async IAsyncEnumerable<RawLine> ReadWindowAsync(TimeWindow window, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var name = Path.GetFileName(file);
        long n = 0;
        using var reader = new StreamReader(file, new UTF8Encoding(false, false), detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
        while (await reader.ReadLineAsync(ct).ConfigureAwait(false) is { } line)
            yield return new RawLine(name, ++n, line);
    }

    /// <summary>
    /// First and last window holding an accepted event of a known kind (completed, error, drift), or null when the file
    /// has none: the same answer as <see cref="FileTelemetrySource.GetCoverageAsync"/> for one file, without building its
    /// line index. The file is split at line boundaries into one part per core, each scanned with the allocation-free
    /// <see cref="TelemetryLineParser.TryAcceptUtf8"/> (lines it does not decide go through
    /// <see cref="TelemetryLineParser.Parse"/> on their text, decoded as <see cref="FileTelemetrySource"/> decodes them).
    /// </summary>
    public (TimeWindow First, TimeWindow Last)? ScanCoverage(CancellationToken ct = default)
    {
        using var handle = File.OpenHandle(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        var length = RandomAccess.GetLength(handle);
        var parts = length < (8 << 20) ? 1 : Math.Max(1, Math.Min(Environment.ProcessorCount, 8));
        var bounds = new long[parts + 1];
        bounds[parts] = length;
        for (var p = 1; p < parts; p++) bounds[p] = NextLineStart(handle, length * p / parts, length);
        var results = new (long Min, long Max)[parts];
        Parallel.For(0, parts, new ParallelOptions { CancellationToken = ct, MaxDegreeOfParallelism = parts },
            p => results[p] = ScanPart(handle, bounds[p], bounds[p + 1], ct));
        long min = long.MaxValue, max = long.MinValue;
        foreach (var (a, b) in results) { min = Math.Min(min, a); max = Math.Max(max, b); }
        if (min == long.MaxValue) return null;
        return (TimeWindow.StartingAt(new DateTimeOffset(min, TimeSpan.Zero)), TimeWindow.StartingAt(new DateTimeOffset(max, TimeSpan.Zero)));
    }

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    // Offset just after the first LF at or after 'from' (or the end).
    private static long NextLineStart(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long from, long length)
    {
        Span<byte> buffer = stackalloc byte[4096];
        while (from < length)
        {
            var n = RandomAccess.Read(handle, buffer, from);
            if (n <= 0) break;
            var nl = buffer[..n].IndexOf((byte)'\n');
            if (nl >= 0) return from + nl + 1;
            from += n;
        }
        return length;
    }

    private static (long Min, long Max) ScanPart(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long start, long end, CancellationToken ct)
    {
        long min = long.MaxValue, max = long.MinValue;
        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            var filled = 0;
            var position = start;
            while (true)
            {
                ct.ThrowIfCancellationRequested();
                if (filled == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, filled).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var want = (int)Math.Min(buffer.Length - filled, end - position);
                var read = want <= 0 ? 0 : RandomAccess.Read(handle, buffer.AsSpan(filled, want), position);
                position += read;
                var total = filled + read;
                var eof = read == 0;
                var data = buffer.AsSpan(0, total);
                var lineStart = 0;
                while (true)
                {
                    var nl = data[lineStart..].IndexOf((byte)'\n');
                    if (nl < 0)
                    {
                        if (eof && lineStart < total) Scan(data[lineStart..], ref min, ref max);
                        break;
                    }
                    Scan(data.Slice(lineStart, nl), ref min, ref max);
                    lineStart += nl + 1;
                }
                if (eof) return (min, max);
                data[lineStart..].CopyTo(buffer);
                filled = total - lineStart;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void Scan(ReadOnlySpan<byte> line, ref long min, ref long max)
    {
        DateTimeOffset ts;
        if (TelemetryLineParser.TryAcceptUtf8(line, out var e))
        {
            if (e.Kind == TelemetryEventKind.Other) return;
            ts = e.Timestamp;
        }
        else
        {
            var parsed = TelemetryLineParser.Parse(Utf8.GetString(line));
            if (parsed is not { Outcome: LineOutcome.Accepted, Event.Kind: not TelemetryEventKind.Other }) return;
            ts = parsed.Event.Timestamp;
        }
        var w = TimeWindow.Containing(ts).Start.UtcTicks;
        if (w < min) min = w;
        if (w > max) max = w;
    }
}
