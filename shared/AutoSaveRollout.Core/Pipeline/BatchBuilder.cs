using System.Buffers;
using System.Text;
using System.Text.Json;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// The Collector's per-line work for one window: validates each raw line, drops repeated event ids (first wins), counts,
/// and writes the normalised batch lines and the rejected-line records into buffers that the Collector flushes.
/// <para>
/// Lines go through <see cref="TelemetryLineParser.TryAcceptUtf8"/> (no allocation) and, when it does not decide,
/// through <see cref="TelemetryLineParser.Parse"/> (the reason of a rejection). Both produce the same event, written with
/// the same <see cref="Collector.WriteNormalised"/> bytes.
/// </para>
/// <para>
/// Duplicates: unless <c>exactIds</c>, the set holds 64-bit fingerprints of the ids' UTF-8 bytes
/// (<see cref="FingerprintSet"/>, ~11–21 bytes per id) instead of the ids. A line whose fingerprint was seen is dropped
/// as a repeat, and the first such id per fingerprint is kept (<see cref="HasContestedIds"/>). Exactness is restored
/// by <see cref="ConfirmRepeatsAsync"/>, which compares those ids with the ids of the lines written under the same
/// fingerprints; a mismatch (a real fingerprint collision, probability about n²/2⁶⁵) makes the Collector collect the
/// window again with exact ids.
/// </para>
/// </summary>
internal sealed class BatchBuilder : IDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly TimeWindow _window;
    private readonly bool _acceptAnyTimestamp;
    private readonly FingerprintSet? _fingerprints;
    private readonly HashSet<string>? _exactIds;
    private Dictionary<ulong, byte[]>? _contested;
    private bool _collision;
    private readonly Utf8JsonWriter _batchWriter;
    private readonly Utf8JsonWriter _rejectWriter;
    private byte[] _ascii = ArrayPool<byte>.Shared.Rent(4096);
    private long _completed, _errors, _drift;

    public BatchBuilder(TimeWindow window, bool acceptAnyTimestamp, bool exactIds)
    {
        _window = window;
        _acceptAnyTimestamp = acceptAnyTimestamp;
        if (exactIds) _exactIds = new HashSet<string>(StringComparer.Ordinal);
        else _fingerprints = new FingerprintSet();
        _batchWriter = new Utf8JsonWriter(Batch, WriterOptions);
        _rejectWriter = new Utf8JsonWriter(RejectedLines, WriterOptions);
    }

    /// <summary>Normalised batch lines not yet flushed.</summary>
    public ArrayBufferWriter<byte> Batch { get; } = new(1 << 16);

    /// <summary>Rejected-line records (JSONL) not yet flushed.</summary>
    public ArrayBufferWriter<byte> RejectedLines { get; } = new(4 * 1024);

    public long Rejected { get; private set; }
    public long Duplicates { get; private set; }

    /// <summary>Accepted events per known name (all three always present).</summary>
    public SortedDictionary<string, long> Counts => new(StringComparer.Ordinal)
    {
        [EventNames.SaveCompleted] = _completed, [EventNames.SaveError] = _errors, [EventNames.HistoryDrift] = _drift,
    };

    /// <summary>Valid events of other names, by name.</summary>
    public SortedDictionary<string, long> Ignored { get; } = new(StringComparer.Ordinal);

    /// <summary>True when lines were dropped on a fingerprint alone and <see cref="ConfirmRepeatsAsync"/> must run.</summary>
    public bool HasContestedIds => _contested is { Count: > 0 } || _collision;

    /// <summary>Handles one raw line.</summary>
    public void Add(RawLine line)
    {
        var text = line.Text;
        if (text.Length > 0 && text[0] == '{' && text.Length <= TelemetryLineParser.MaxLineLength && Ascii.IsValid(text))
        {
            if (_ascii.Length < text.Length)
            {
                ArrayPool<byte>.Shared.Return(_ascii);
                _ascii = ArrayPool<byte>.Shared.Rent(text.Length);
            }
            var bytes = _ascii.AsSpan(0, text.Length);
            Ascii.FromUtf16(text, bytes, out _);
            if (TelemetryLineParser.TryAcceptUtf8(bytes, out var fast))
            {
                AddAccepted(line, fast);
                return;
            }
        }
        var parsed = TelemetryLineParser.Parse(text);
        switch (parsed.Outcome)
        {
            case LineOutcome.Blank:
                return;
            case LineOutcome.Rejected:
                Reject(line, parsed.Reason!);
                return;
        }
        var e = parsed.Event!;
        if (!_window.Contains(e.Timestamp) && !_acceptAnyTimestamp)
        {
            Reject(line, $"ts {Rfc3339.Format(e.Timestamp)} outside the requested window {_window}");
            return;
        }
        if (IsRepeat(Encoding.UTF8.GetBytes(e.EventId), e.EventId)) return;
        if (e.Kind == TelemetryEventKind.Other)
        {
            Ignored[e.EventName] = Ignored.GetValueOrDefault(e.EventName) + 1;
            return;
        }
        CountKnown(e.Kind);
        Collector.WriteNormalised(Batch, e, WriterOptions);
    }

    private void AddAccepted(RawLine line, Utf8TelemetryEvent e)
    {
        if (!_window.Contains(e.Timestamp) && !_acceptAnyTimestamp)
        {
            Reject(line, $"ts {Rfc3339.Format(e.Timestamp)} outside the requested window {_window}");
            return;
        }
        if (IsRepeat(e.EventId, null)) return;
        if (e.Kind == TelemetryEventKind.Other)
        {
            var name = Encoding.UTF8.GetString(e.EventName);
            Ignored[name] = Ignored.GetValueOrDefault(name) + 1;
            return;
        }
        CountKnown(e.Kind);
        // Byte for byte Collector.WriteNormalised: same writer options, same property order, same number formatting.
        var w = _batchWriter;
        w.Reset(Batch);
        w.WriteStartObject();
        w.WriteString("event_id"u8, e.EventId);
        Span<byte> ts = stackalloc byte[40];
        w.WriteString("ts"u8, ts[..Rfc3339.FormatUtf8(e.Timestamp, ts)]);
        w.WriteString("event"u8, e.EventName);
        if (e.DurationMs is { } d) w.WriteNumber("duration_ms"u8, d);
        if (e.Retryable is { } r) w.WriteBoolean("retryable"u8, r);
        if (e.HasErrorCode) w.WriteString("error_code"u8, e.ErrorCode);
        w.WriteEndObject();
        w.Flush();
        Batch.Write("\n"u8);
    }

    private void CountKnown(TelemetryEventKind kind)
    {
        switch (kind)
        {
            case TelemetryEventKind.SaveCompleted: _completed++; break;
            case TelemetryEventKind.SaveError: _errors++; break;
            case TelemetryEventKind.HistoryDrift: _drift++; break;
        }
    }

    private bool IsRepeat(ReadOnlySpan<byte> idUtf8, string? id)
    {
        bool repeat;
        if (_exactIds is not null)
        {
            repeat = !_exactIds.Add(id ?? Encoding.UTF8.GetString(idUtf8));
        }
        else
        {
            var f = FingerprintSet.Fingerprint(idUtf8);
            repeat = !_fingerprints!.Add(f);
            if (repeat)
            {
                _contested ??= [];
                if (_contested.TryGetValue(f, out var first)) _collision |= !first.AsSpan().SequenceEqual(idUtf8);
                else _contested[f] = idUtf8.ToArray();
            }
        }
        if (repeat) Duplicates++;
        return repeat;
    }

    /// <summary>
    /// Reads the written batch back and checks that every line dropped on its fingerprint alone repeated the id of the
    /// written line with that fingerprint. False on a real collision (the window must be collected with exact ids).
    /// </summary>
    public async Task<bool> ConfirmRepeatsAsync(Ports.IBlobStore blobs, string batchPath, CancellationToken ct)
    {
        if (_collision) return false;
        var contested = _contested!;
        await using (var stream = await blobs.TryOpenReadAsync(batchPath, ct).ConfigureAwait(false)
                     ?? throw new InvalidOperationException($"batch {batchPath} vanished while it was being collected"))
        {
            var buffer = new byte[256];
            await JsonLines.ForEachLineAsync(stream, line =>
            {
                var reader = new Utf8JsonReader(line);
                if (!reader.Read() || !reader.Read() || !reader.ValueTextEquals("event_id"u8) || !reader.Read()) return;
                ReadOnlySpan<byte> id;
                if (!reader.ValueIsEscaped) id = reader.ValueSpan;
                else
                {
                    if (buffer.Length < reader.ValueSpan.Length) buffer = new byte[reader.ValueSpan.Length];
                    id = buffer.AsSpan(0, reader.CopyString(buffer));
                }
                if (contested.TryGetValue(FingerprintSet.Fingerprint(id), out var repeated) && !repeated.AsSpan().SequenceEqual(id))
                    _collision = true;
            }, ct).ConfigureAwait(false);
        }
        return !_collision;
    }

    private void Reject(RawLine line, string reason)
    {
        Rejected++;
        var w = _rejectWriter;
        w.Reset(RejectedLines);
        w.WriteStartObject();
        w.WriteString("source", line.Source);
        w.WriteNumber("line", line.LineNumber);
        w.WriteString("reason", reason);
        w.WriteString("text", Collector.RejectedText(line.Text));
        w.WriteEndObject();
        w.Flush();
        RejectedLines.Write("\n"u8);
    }

    public void Dispose()
    {
        _fingerprints?.Dispose();
        _batchWriter.Dispose();
        _rejectWriter.Dispose();
        if (_ascii.Length > 0) ArrayPool<byte>.Shared.Return(_ascii);
        _ascii = [];
    }
}
