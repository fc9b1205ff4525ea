using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reliability;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using AutoSaveRollout.Core.Storage;

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

    /// <summary>
    /// Retries of a window's read (<see cref="RetryOptions.CollectorSource"/>: 30, 60, 120, 240 s ±20 % by default). Null:
    /// a policy with the default limits on the Collector's clock. Tests inject short or zero schedules here.
    /// </summary>
    public RetryPolicy? Retries { get; init; }
}

/// <summary>
/// Collector stage: pulls the telemetry of a closed 15-minute window from an <see cref="ITelemetrySource"/>, validates each
/// line (<see cref="TelemetryLineParser"/>), drops repeated <c>event_id</c>s (first wins, scope: the window's batch),
/// writes the normalised batch as JSONL append blocks, the rejected lines with line number and reason, then the manifest
/// (last, marking the window collected), and enqueues an <see cref="AnalyzeMessage"/>. Idempotent by window; missed
/// windows are back-filled in order by <see cref="CollectDueAsync"/>.
/// <para>
/// A failed read is retried from the start under <see cref="CollectorOptions.Retries"/> (a partial batch is recreated).
/// When the Collector gives up (retries exhausted, or a permanent failure) it appends a <see cref="CollectorFailure"/> to
/// <see cref="StorePaths.RetryFailures"/>, writes no manifest (the window stays uncollected, so the next run retries it),
/// enqueues a <see cref="RetryExhaustedEvent"/> message for the Analyzer, and rethrows the last failure.
/// </para>
/// </summary>
public sealed class Collector
{
    /// <summary>Event raised when the collector latency exceeds <see cref="CollectorOptions.DelayedAfter"/>.</summary>
    public const string DelayedEvent = "collector.delayed";

    /// <summary>Event (analyze-queue message type and incident metric) raised when the Collector gives up on a window.</summary>
    public const string RetryExhaustedEvent = "collector.retry_exhausted";

    private const int MaxRejectedTextChars = 2000;
    private readonly IBlobStore _blobs;
    private readonly IQueueFactory _queues;
    private readonly IDistributedLock _locks;
    private readonly ITelemetrySource _source;
    private readonly TimeProvider _time;
    private readonly CollectorOptions _options;
    private readonly ILogger _log;
    private readonly Polly.ResiliencePipeline _retry;

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
        var retries = _options.Retries ?? new RetryPolicy(new RetryOptions { Time = time });
        _retry = retries.CollectorSource();
    }

    /// <summary>
    /// Collects every window that has closed since the last collected one, in order (back-fill); on the very first run only
    /// the latest closed window. Holds the <c>collector</c> lock so that two instances never collect the same window, renewing
    /// it every third of its duration while retries wait; returns an empty list when another instance holds it.
    /// Stops at a window it gives up on (see <see cref="CollectWindowAsync"/>) and rethrows: the Analyzer judges windows in
    /// order, so later windows wait for the next run, which starts again from the failed window. Throws
    /// <see cref="StorageException"/> when the lock is lost.
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
        // The very first run records where it starts, so that a first window it gives up on is retried by the next run.
        state ??= await progress.UpdateAsync(s => s ?? new CollectorState { FirstWindowStart = lastClosed.Start }, ct).ConfigureAwait(false);
        var first = state.LastCollectedWindowStart is { } last ? TimeWindow.StartingAt(last).Next
            : state.FirstWindowStart is { } start ? TimeWindow.StartingAt(start)
            : lastClosed;
        var done = new List<BatchManifest>();
        using var run = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var keepAlive = KeepLockAsync(handle, run);
        try
        {
            foreach (var w in TimeWindow.Range(first, lastClosed))
            {
                done.Add(await CollectWindowAsync(w, run.Token).ConfigureAwait(false));
                await progress.UpdateAsync(s => (s ?? new CollectorState()) with { LastCollectedWindowStart = w.Start }, run.Token).ConfigureAwait(false);
                await handle.RenewAsync(run.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested && run.IsCancellationRequested)
        {
            // Before the finally block only the keep-alive cancels the run, after a failed renewal. Wait for it to finish
            // saying why: it may still be inside its cancel call (a race the old IsCompleted check lost under load).
            if (await keepAlive.ConfigureAwait(false) is { } lost)
                throw new StorageException($"collector lock lost while collecting: {lost.Message}", lost.Status, lost.ErrorCode, isTransient: true, lost);
            throw;
        }
        finally
        {
            await run.CancelAsync().ConfigureAwait(false);
            await keepAlive.ConfigureAwait(false);
        }
        return done;
    }

    // Renews the lease every third of its duration until the run ends (retry waits outlast a 60 s lease). A failed renewal
    // means another instance may take the lock: the run is cancelled and the failure returned.
    private async Task<StorageException?> KeepLockAsync(ILockHandle handle, CancellationTokenSource run)
    {
        var every = _options.LockDuration / 3;
        try
        {
            while (true)
            {
                await Task.Delay(every, _time, run.Token).ConfigureAwait(false);
                await handle.RenewAsync(run.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (run.IsCancellationRequested)
        {
            return null;
        }
        catch (StorageException ex)
        {
            _log.LogError("collector lock could not be renewed; stopping this run: {Error}", ex.Message);
            await run.CancelAsync().ConfigureAwait(false);
            return ex;
        }
    }

    /// <summary>
    /// Collects <paramref name="window"/> unless its manifest already exists, then enqueues the analyze message (also for an
    /// already collected window: the Analyzer is idempotent, and this heals a crash between manifest and enqueue).
    /// A failed read is retried from the start (a partial batch is recreated). When it gives up, the failure is logged to
    /// <see cref="StorePaths.RetryFailures"/>, a <see cref="RetryExhaustedEvent"/> message is enqueued, no manifest is
    /// written, and the last <see cref="TelemetrySourceException"/> or <see cref="StorageException"/> is rethrown.
    /// </summary>
    public async Task<BatchManifest> CollectWindowAsync(TimeWindow window, CancellationToken ct = default)
    {
        var manifestPath = StorePaths.Manifest(window);
        var (manifest, created) = await new JsonRecordStore<BatchManifest>(_blobs, manifestPath)
            .GetOrCreateAsync(c => CollectWithRetriesAsync(window, c), ct).ConfigureAwait(false);
        if (!created) _log.LogInformation("window {Window} already collected; re-announcing it", window);

        await _queues.GetQueue(StorePaths.AnalyzeQueue)
            .SendJsonAsync(new AnalyzeMessage("batch.collected", window.Start, manifestPath), ct).ConfigureAwait(false);
        return manifest;
    }

    private async Task<BatchManifest> CollectWithRetriesAsync(TimeWindow window, CancellationToken ct)
    {
        var errors = new List<CollectorAttemptError>();
        var firstAttemptAt = _time.GetUtcNow();
        try
        {
            return await _retry.ExecuteAsync(async c =>
            {
                try
                {
                    return await CollectNewAsync(window, c).ConfigureAwait(false);
                }
                catch (Exception ex) when (!ct.IsCancellationRequested)
                {
                    var transient = TransientFailures.IsTransient(ex, ct);
                    lock (errors) errors.Add(new CollectorAttemptError(_time.GetUtcNow(), TransientFailures.Describe(ex), transient));
                    _log.LogWarning("window {Window}: read attempt {Attempt} failed ({Kind}): {Error}",
                        window, errors.Count, transient ? "transient" : "permanent", ex.Message);
                    throw;
                }
            }, ct).ConfigureAwait(false);
        }
        catch (Exception) when (!ct.IsCancellationRequested && errors.Count > 0)
        {
            await GiveUpAsync(window, errors, firstAttemptAt, ct).ConfigureAwait(false);
            throw;
        }
    }

    // Records a window the Collector gives up on and tells the Analyzer. Best effort: if storage is what failed, the
    // original failure is what the caller sees.
    private async Task GiveUpAsync(TimeWindow window, IReadOnlyList<CollectorAttemptError> errors, DateTimeOffset firstAttemptAt, CancellationToken ct)
    {
        var failure = new CollectorFailure
        {
            WindowStart = window.Start,
            WindowEnd = window.End,
            Source = _source.Description,
            Attempts = errors.Count,
            Errors = errors.ToList(),
            FirstAttemptAt = firstAttemptAt,
            GaveUpAt = _time.GetUtcNow(),
            Reason = errors[^1].Transient ? "retries_exhausted" : "permanent_error",
        };
        _log.LogError("window {Window}: gave up after {Attempts} attempt(s) ({Reason}); the next run retries it. Last error: {Error}",
            window, failure.Attempts, failure.Reason, errors[^1].Error);
        try
        {
            await _blobs.AppendJsonLineAsync(StorePaths.RetryFailures, failure, ct).ConfigureAwait(false);
            await _queues.GetQueue(StorePaths.AnalyzeQueue)
                .SendJsonAsync(new AnalyzeMessage(RetryExhaustedEvent, window.Start, null, failure), ct).ConfigureAwait(false);
        }
        catch (StorageException ex)
        {
            _log.LogError("window {Window}: could not record the give-up: {Error}", window, ex.Message);
        }
    }

    // First with the compact duplicate set (fingerprints); in the unlikely case that two different event ids share a
    // fingerprint, the window is collected again with the exact set of id strings.
    private async Task<BatchManifest> CollectNewAsync(TimeWindow window, CancellationToken ct)
    {
        if (await CollectNewAsync(window, exactIds: false, ct).ConfigureAwait(false) is { } manifest) return manifest;
        _log.LogWarning("window {Window}: two event ids share a 64-bit fingerprint; collecting again with exact ids", window);
        return await CollectNewAsync(window, exactIds: true, ct).ConfigureAwait(false)
            ?? throw new InvalidOperationException("exact duplicate detection cannot collide");
    }

    private async Task<BatchManifest?> CollectNewAsync(TimeWindow window, bool exactIds, CancellationToken ct)
    {
        var batchPath = StorePaths.Batch(window);
        var rejectedPath = StorePaths.Rejected(window);
        await _blobs.CreateAppendBlobAsync(batchPath, ct).ConfigureAwait(false);
        await _blobs.DeleteAsync(rejectedPath, ct).ConfigureAwait(false);

        using var run = new BatchBuilder(window, _options.AcceptAnyTimestamp, exactIds);
        long batchBytes = 0;
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

        async Task FlushBatchAsync()
        {
            if (run.Batch.WrittenCount == 0) return;
            sha.AppendData(run.Batch.WrittenSpan);
            batchBytes += run.Batch.WrittenCount;
            await _blobs.AppendAsync(batchPath, run.Batch.WrittenMemory, ct).ConfigureAwait(false);
            run.Batch.ResetWrittenCount();
        }

        async Task FlushRejectedAsync()
        {
            if (run.RejectedLines.WrittenCount == 0) return;
            await _blobs.AppendAsync(rejectedPath, run.RejectedLines.WrittenMemory, ct).ConfigureAwait(false);
            run.RejectedLines.ResetWrittenCount();
        }

        await foreach (var line in _source.ReadWindowAsync(window, ct).ConfigureAwait(false))
        {
            run.Add(line);
            if (run.Batch.WrittenCount >= _options.BlockBytes) await FlushBatchAsync().ConfigureAwait(false);
            if (run.RejectedLines.WrittenCount >= _options.BlockBytes) await FlushRejectedAsync().ConfigureAwait(false);
        }
        await FlushBatchAsync().ConfigureAwait(false);
        await FlushRejectedAsync().ConfigureAwait(false);
        if (run.HasContestedIds && !await run.ConfirmRepeatsAsync(_blobs, batchPath, ct).ConfigureAwait(false)) return null;

        var writtenAt = _time.GetUtcNow();
        var latency = (writtenAt - window.End).TotalSeconds;
        var events = new List<string>();
        if (writtenAt - window.End > _options.DelayedAfter) events.Add(DelayedEvent);
        if (run.Rejected > 0) _log.LogWarning("window {Window}: {Rejected} telemetry line(s) rejected, see {Path}", window, run.Rejected, rejectedPath);

        return new BatchManifest
        {
            WindowStart = window.Start,
            WindowEnd = window.End,
            Source = _source.Description,
            Counts = run.Counts,
            Ignored = run.Ignored,
            Rejected = run.Rejected,
            Duplicates = run.Duplicates,
            BatchPath = batchPath,
            BatchSha256 = Convert.ToHexStringLower(sha.GetHashAndReset()),
            BatchBytes = batchBytes,
            RejectedPath = run.Rejected > 0 ? rejectedPath : null,
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
