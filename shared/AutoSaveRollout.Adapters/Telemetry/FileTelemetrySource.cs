using System.Runtime.CompilerServices;
using System.Text;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Adapters.Telemetry;

/// <summary>
/// The embedded default telemetry source: a JSONL file, or a folder of <c>*.jsonl</c> / <c>*.ndjson</c> files (read in
/// ordinal name order, not recursive). Each file is indexed once (re-indexed when its size or write time changes) into runs of
/// consecutive lines that belong to the same window, so a window is read without scanning the whole input again.
/// A line whose <c>ts</c> cannot be read is attributed to the window of the nearest preceding line that has one (or, at the
/// top of a file, the nearest following one); a file with no readable timestamp at all goes to the first covered window.
/// So every line, good or bad, is handed to exactly one window.
/// </summary>
public sealed class FileTelemetrySource : ITelemetrySource
{
    private readonly string _path;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, FileIndex> _indexes = new(StringComparer.Ordinal);

    /// <summary>Creates a source over <paramref name="path"/> (file or folder). Throws <see cref="FileNotFoundException"/> when it does not exist.</summary>
    public FileTelemetrySource(string path)
    {
        if (!File.Exists(path) && !Directory.Exists(path)) throw new FileNotFoundException($"telemetry path not found: {path}", path);
        _path = Path.GetFullPath(path);
    }

    /// <inheritdoc />
    public string Description => "file:" + _path;

    /// <summary>
    /// First and last window holding an accepted event of a known kind (completed, error, drift), or null when the input
    /// has none. Replay runs every window in between, empty ones included.
    /// </summary>
    public async Task<(TimeWindow First, TimeWindow Last)?> GetCoverageAsync(CancellationToken ct = default)
    {
        var indexes = await RefreshAsync(ct).ConfigureAwait(false);
        long? min = null, max = null;
        foreach (var ix in indexes)
        {
            if (ix.MinAcceptedTicks is { } a) min = min is null ? a : Math.Min(min.Value, a);
            if (ix.MaxAcceptedTicks is { } b) max = max is null ? b : Math.Max(max.Value, b);
        }
        if (min is null || max is null) return null;
        return (TimeWindow.StartingAt(new DateTimeOffset(min.Value, TimeSpan.Zero)), TimeWindow.StartingAt(new DateTimeOffset(max.Value, TimeSpan.Zero)));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<RawLine> ReadWindowAsync(TimeWindow window, [EnumeratorCancellation] CancellationToken ct = default)
    {
        IReadOnlyList<FileIndex> indexes;
        try
        {
            indexes = await RefreshAsync(ct).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new TelemetrySourceException($"cannot read telemetry under {_path}: {ex.Message}", isTransient: true, ex);
        }
        var coverage = await GetCoverageAsync(ct).ConfigureAwait(false);
        var ticks = window.Start.UtcTicks;
        foreach (var ix in indexes)
        {
            var runs = ix.Runs.Where(r => r.WindowTicks == ticks || (r.WindowTicks is null && coverage?.First.Start.UtcTicks == ticks)).ToList();
            if (runs.Count == 0) continue;
            await using var stream = new FileStream(ix.File, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.Asynchronous);
            foreach (var run in runs)
            {
                stream.Seek(run.Offset, SeekOrigin.Begin);
                var n = 0;
                await foreach (var (_, text) in ReadLinesAsync(stream, run.Offset, ct).ConfigureAwait(false))
                {
                    yield return new RawLine(Path.GetFileName(ix.File), run.FirstLine + n, text);
                    if (++n == run.LineCount) break;
                }
            }
        }
    }

    private async Task<IReadOnlyList<FileIndex>> RefreshAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            var files = File.Exists(_path)
                ? [_path]
                : Directory.EnumerateFiles(_path)
                    .Where(f => f.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".ndjson", StringComparison.OrdinalIgnoreCase))
                    .OrderBy(f => f, StringComparer.Ordinal)
                    .ToList();
            var result = new List<FileIndex>(files.Count);
            foreach (var f in files)
            {
                var info = new FileInfo(f);
                if (!_indexes.TryGetValue(f, out var ix) || ix.Length != info.Length || ix.WriteTimeUtc != info.LastWriteTimeUtc)
                {
                    ix = await BuildIndexAsync(f, info.Length, info.LastWriteTimeUtc, ct).ConfigureAwait(false);
                    _indexes[f] = ix;
                }
                result.Add(ix);
            }
            return result;
        }
        finally
        {
            _gate.Release();
        }
    }

    private static async Task<FileIndex> BuildIndexAsync(string file, long length, DateTime writeTime, CancellationToken ct)
    {
        var runs = new List<Run>();
        long? minAccepted = null, maxAccepted = null;
        long? current = null;           // window ticks of the open run
        Run? open = null;
        var pendingStart = -1L;          // leading lines before any readable ts: offset and count
        var pendingCount = 0;
        long lineNo = 0;

        await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.Asynchronous);
        await foreach (var (offset, text) in ReadLinesAsync(stream, 0, ct).ConfigureAwait(false))
        {
            lineNo++;
            var parsed = TelemetryLineParser.Parse(text);
            long? windowTicks = parsed.Timestamp is { } ts ? TimeWindow.Containing(ts).Start.UtcTicks : null;
            if (parsed is { Outcome: LineOutcome.Accepted, Event.Kind: not TelemetryEventKind.Other })
            {
                var w = windowTicks!.Value;
                minAccepted = minAccepted is null ? w : Math.Min(minAccepted.Value, w);
                maxAccepted = maxAccepted is null ? w : Math.Max(maxAccepted.Value, w);
            }

            if (windowTicks is null)
            {
                if (open is null) { if (pendingCount++ == 0) pendingStart = offset; }
                else open = open with { LineCount = open.LineCount + 1 };
                continue;
            }
            if (open is not null && current == windowTicks)
            {
                open = open with { LineCount = open.LineCount + 1 };
                continue;
            }
            if (open is not null) runs.Add(open);
            current = windowTicks;
            open = pendingCount > 0
                ? new Run(windowTicks, pendingStart, lineNo - pendingCount, pendingCount + 1)
                : new Run(windowTicks, offset, lineNo, 1);
            pendingCount = 0;
        }
        if (open is not null) runs.Add(open);
        else if (pendingCount > 0) runs.Add(new Run(null, pendingStart, lineNo - pendingCount + 1, pendingCount));
        return new FileIndex(file, length, writeTime, runs, minAccepted, maxAccepted);
    }

    // Streams lines from the stream's current position (which is startOffset), yielding the byte offset of each line start.
    private static async IAsyncEnumerable<(long Offset, string Text)> ReadLinesAsync(Stream stream, long startOffset, [EnumeratorCancellation] CancellationToken ct)
    {
        var buffer = new byte[1 << 16];
        var pending = new MemoryStream();
        var lineStart = startOffset;
        var position = startOffset;
        int read;
        while ((read = await stream.ReadAsync(buffer, ct).ConfigureAwait(false)) > 0)
        {
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n') continue;
                pending.Write(buffer, start, i - start);
                yield return (lineStart, Decode(pending));
                pending.SetLength(0);
                start = i + 1;
                lineStart = position + i + 1;
            }
            pending.Write(buffer, start, read - start);
            position += read;
        }
        if (pending.Length > 0) yield return (lineStart, Decode(pending));
    }

    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    private static string Decode(MemoryStream bytes) => Utf8.GetString(bytes.GetBuffer(), 0, (int)bytes.Length);

    private sealed record Run(long? WindowTicks, long Offset, long FirstLine, long LineCount);

    private sealed record FileIndex(string File, long Length, DateTime WriteTimeUtc, IReadOnlyList<Run> Runs, long? MinAcceptedTicks, long? MaxAcceptedTicks);
}
