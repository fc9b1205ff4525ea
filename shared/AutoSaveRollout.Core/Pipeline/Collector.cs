using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>Collector settings.</summary>
public sealed record CollectorOptions
{
    /// <summary>Collector latency above which a <c>collector.delayed</c> event is raised (default 5 minutes, design §1).</summary>
    public TimeSpan DelayedAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Bytes buffered before an append block is written (default 1 MiB).</summary>
    public int BlockBytes { get; init; } = 1 << 20;

    /// <summary>Lease on the collector lock (15–60 s); renewed after each window.</summary>
    public TimeSpan LockDuration { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Simulation mode (<c>analyze --batch</c>): every accepted event joins the batch whatever its <c>ts</c>, instead of
    /// rejecting events outside the requested window.
    /// </summary>
    public bool AcceptAnyTimestamp { get; init; }
}

/// <summary>
/// Collector stage: pulls the telemetry of a closed 15-minute window from an <see cref="ITelemetrySource"/>, validates each
/// line (<see cref="TelemetryLineParser"/>), drops repeated <c>event_id</c>s (first wins, scope: the window's batch),
/// writes the normalised batch as JSONL append blocks, the rejected lines with line number and reason, then the manifest
/// (last, marking the window collected), and enqueues an <see cref="AnalyzeMessage"/>. Idempotent by window; missed
/// windows are back-filled in order by <see cref="CollectDueAsync"/>.
/// </summary>
public sealed class Collector
{
    /// <summary>Event raised when the collector latency exceeds <see cref="CollectorOptions.DelayedAfter"/>.</summary>
    public const string DelayedEvent = "collector.delayed";

    private const int MaxRejectedTextChars = 2000;
    private readonly IBlobStore _blobs;
    private readonly IQueueFactory _queues;
    private readonly IDistributedLock _locks;
    private readonly ITelemetrySource _source;
    private readonly TimeProvider _time;
    private readonly CollectorOptions _options;
    private readonly ILogger _log;

    /// <summary>Creates the stage.</summary>
    public Collector(IBlobStore blobs, IQueueFactory queues, IDistributedLock locks, ITelemetrySource source, TimeProvider time,
        CollectorOptions? options = null, ILogger<Collector>? log = null)
    {
        _blobs = blobs;
        _queues = queues;
        _locks = locks;
        _source = source;
        _time = time;
        _options = options ?? new CollectorOptions();
        _log = log ?? (ILogger)NullLogger.Instance;
    }

    /// <summary>
    /// Collects every window that has closed since the last collected one, in order (back-fill); on the very first run only
    /// the latest closed window. Holds the <c>collector</c> lock so that two instances never collect the same window;
    /// returns an empty list when another instance holds it.
    /// </summary>
    public async Task<IReadOnlyList<BatchManifest>> CollectDueAsync(CancellationToken ct = default)
    {
        await using var handle = await _locks.TryAcquireAsync("collector", _options.LockDuration, ct).ConfigureAwait(false);
        if (handle is null)
        {
            _log.LogInformation("collector lock held by another instance; skipping this run");
            return [];
        }
        var progress = new JsonRecordStore<CollectorState>(_blobs, StorePaths.CollectorState);
        var (state, _) = await progress.ReadAsync(ct).ConfigureAwait(false);
        var lastClosed = TimeWindow.LastClosedAt(_time.GetUtcNow());
        var first = state?.LastCollectedWindowStart is { } last ? TimeWindow.StartingAt(last).Next : lastClosed;
        var done = new List<BatchManifest>();
        foreach (var w in TimeWindow.Range(first, lastClosed))
        {
            done.Add(await CollectWindowAsync(w, ct).ConfigureAwait(false));
            await progress.UpdateAsync(s => new CollectorState { LastCollectedWindowStart = w.Start }, ct).ConfigureAwait(false);
            await handle.RenewAsync(ct).ConfigureAwait(false);
        }
        return done;
    }

    /// <summary>
    /// Collects <paramref name="window"/> unless its manifest already exists, then enqueues the analyze message (also for an
    /// already collected window: the Analyzer is idempotent, and this heals a crash between manifest and enqueue).
    /// Throws <see cref="TelemetrySourceException"/> or <see cref="StorageException"/> on failure; a partial batch is
    /// overwritten by the next attempt.
    /// </summary>
    public async Task<BatchManifest> CollectWindowAsync(TimeWindow window, CancellationToken ct = default)
    {
        var manifestPath = StorePaths.Manifest(window);
        var (manifest, created) = await new JsonRecordStore<BatchManifest>(_blobs, manifestPath)
            .GetOrCreateAsync(c => CollectNewAsync(window, c), ct).ConfigureAwait(false);
        if (!created) _log.LogInformation("window {Window} already collected; re-announcing it", window);

        await _queues.GetQueue(StorePaths.AnalyzeQueue)
            .SendJsonAsync(new AnalyzeMessage("batch.collected", window.Start, manifestPath), ct).ConfigureAwait(false);
        return manifest;
    }

    private async Task<BatchManifest> CollectNewAsync(TimeWindow window, CancellationToken ct)
    {
        var batchPath = StorePaths.Batch(window);
        var rejectedPath = StorePaths.Rejected(window);
        await _blobs.CreateAppendBlobAsync(batchPath, ct).ConfigureAwait(false);
        await _blobs.DeleteAsync(rejectedPath, ct).ConfigureAwait(false);

        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal)
        {
            [EventNames.SaveCompleted] = 0, [EventNames.SaveError] = 0, [EventNames.HistoryDrift] = 0,
        };
        var ignored = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var seenIds = new HashSet<string>(StringComparer.Ordinal);
        long rejected = 0, duplicates = 0, batchBytes = 0;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var batchBuffer = new ArrayBufferWriter<byte>(64 * 1024);
        var rejectedBuffer = new ArrayBufferWriter<byte>(4 * 1024);
        var writerOptions = new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

        async Task FlushBatchAsync()
        {
            if (batchBuffer.WrittenCount == 0) return;
            sha.AppendData(batchBuffer.WrittenSpan);
            batchBytes += batchBuffer.WrittenCount;
            await _blobs.AppendAsync(batchPath, batchBuffer.WrittenMemory, ct).ConfigureAwait(false);
            batchBuffer.ResetWrittenCount();
        }

        async Task FlushRejectedAsync()
        {
            if (rejectedBuffer.WrittenCount == 0) return;
            await _blobs.AppendAsync(rejectedPath, rejectedBuffer.WrittenMemory, ct).ConfigureAwait(false);
            rejectedBuffer.ResetWrittenCount();
        }

        void Reject(RawLine line, string reason)
        {
            rejected++;
            using var w = new Utf8JsonWriter(rejectedBuffer, writerOptions);
            w.WriteStartObject();
            w.WriteString("source", line.Source);
            w.WriteNumber("line", line.LineNumber);
            w.WriteString("reason", reason);
            w.WriteString("text", RejectedText(line.Text));
            w.WriteEndObject();
            w.Flush();
            rejectedBuffer.Write("\n"u8);
        }

        await foreach (var line in _source.ReadWindowAsync(window, ct).ConfigureAwait(false))
        {
            var parsed = TelemetryLineParser.Parse(line.Text);
            switch (parsed.Outcome)
            {
                case LineOutcome.Blank:
                    continue;
                case LineOutcome.Rejected:
                    Reject(line, parsed.Reason!);
                    break;
                case LineOutcome.Accepted:
                    var e = parsed.Event!;
                    if (!window.Contains(e.Timestamp) && !_options.AcceptAnyTimestamp)
                    {
                        Reject(line, $"ts {Rfc3339.Format(e.Timestamp)} outside the requested window {window}");
                        break;
                    }
                    if (!seenIds.Add(e.EventId))
                    {
                        duplicates++;
                        break;
                    }
                    if (e.Kind == TelemetryEventKind.Other)
                    {
                        ignored[e.EventName] = ignored.GetValueOrDefault(e.EventName) + 1;
                        break;
                    }
                    counts[e.EventName]++;
                    WriteNormalised(batchBuffer, e, writerOptions);
                    break;
            }
            if (batchBuffer.WrittenCount >= _options.BlockBytes) await FlushBatchAsync().ConfigureAwait(false);
            if (rejectedBuffer.WrittenCount >= _options.BlockBytes) await FlushRejectedAsync().ConfigureAwait(false);
        }
        await FlushBatchAsync().ConfigureAwait(false);
        await FlushRejectedAsync().ConfigureAwait(false);

        var writtenAt = _time.GetUtcNow();
        var latency = (writtenAt - window.End).TotalSeconds;
        var events = new List<string>();
        if (writtenAt - window.End > _options.DelayedAfter) events.Add(DelayedEvent);
        if (rejected > 0) _log.LogWarning("window {Window}: {Rejected} telemetry line(s) rejected, see {Path}", window, rejected, rejectedPath);

        return new BatchManifest
        {
            WindowStart = window.Start,
            WindowEnd = window.End,
            Source = _source.Description,
            Counts = counts,
            Ignored = ignored,
            Rejected = rejected,
            Duplicates = duplicates,
            BatchPath = batchPath,
            BatchSha256 = Convert.ToHexStringLower(sha.GetHashAndReset()),
            BatchBytes = batchBytes,
            RejectedPath = rejected > 0 ? rejectedPath : null,
            WrittenAt = writtenAt,
            CollectorLatencyS = latency,
            Events = events,
        };
    }

    /// <summary>
    /// A rejected line's text as recorded: at most 2,000 characters (+ "…"), never cutting a surrogate pair, with any
    /// unpaired surrogate replaced by U+FFFD so that the rejected-lines file stays valid UTF-8 JSON.
    /// </summary>
    internal static string RejectedText(string text)
    {
        var cut = text.Length <= MaxRejectedTextChars ? text.Length
            : char.IsHighSurrogate(text[MaxRejectedTextChars - 1]) ? MaxRejectedTextChars - 1 : MaxRejectedTextChars;
        var chars = text.ToCharArray(0, cut);
        for (var i = 0; i < chars.Length; i++)
        {
            if (char.IsHighSurrogate(chars[i]) && i + 1 < chars.Length && char.IsLowSurrogate(chars[i + 1])) i++;
            else if (char.IsSurrogate(chars[i])) chars[i] = '\uFFFD';
        }
        return cut < text.Length ? new string(chars) + "…" : new string(chars);
    }

    /// <summary>Writes the normalised batch line for <paramref name="e"/>: event_id, ts (UTC RFC 3339), event and its typed fields.</summary>
    internal static void WriteNormalised(IBufferWriter<byte> output, TelemetryEvent e, JsonWriterOptions options)
    {
        using (var w = new Utf8JsonWriter(output, options))
        {
            w.WriteStartObject();
            w.WriteString("event_id", e.EventId);
            w.WriteString("ts", Rfc3339.Format(e.Timestamp));
            w.WriteString("event", e.EventName);
            if (e.DurationMs is { } d) w.WriteNumber("duration_ms", d);
            if (e.Retryable is { } r) w.WriteBoolean("retryable", r);
            if (e.ErrorCode is { } c) w.WriteString("error_code", c);
            w.WriteEndObject();
        }
        output.Write("\n"u8);
    }
}
