using System.Text;
using System.Text.Json;

namespace AutoSaveRollout.Core.Telemetry;

/// <summary>
/// An accepted telemetry event read without allocating: spans into the UTF-8 line it came from (valid only while that
/// buffer is). Same fields and meaning as <see cref="TelemetryEvent"/>.
/// </summary>
public readonly ref struct Utf8TelemetryEvent
{
    /// <summary>The unescaped <c>event_id</c> (UTF-8, non-empty).</summary>
    public ReadOnlySpan<byte> EventId { get; init; }
    /// <summary>When it happened, in UTC.</summary>
    public DateTimeOffset Timestamp { get; init; }
    /// <summary>Parsed kind.</summary>
    public TelemetryEventKind Kind { get; init; }
    /// <summary>The raw <c>event</c> value (UTF-8).</summary>
    public ReadOnlySpan<byte> EventName { get; init; }
    /// <summary>Milliseconds (finite, ≥ 0, never −0) on completed saves; otherwise null.</summary>
    public double? DurationMs { get; init; }
    /// <summary>On save errors: whether retryable; otherwise null.</summary>
    public bool? Retryable { get; init; }
    /// <summary>On save errors with an <c>error_code</c>: its value; otherwise empty with <see cref="HasErrorCode"/> false.</summary>
    public ReadOnlySpan<byte> ErrorCode { get; init; }
    /// <summary>True when <see cref="ErrorCode"/> holds a value.</summary>
    public bool HasErrorCode { get; init; }
}

public static partial class TelemetryLineParser
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 32, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    // Known top-level properties, as bits of a "seen" mask.
    private const int IdBit = 1, TsBit = 2, EventBit = 4, DurationBit = 8, RetryableBit = 16, CodeBit = 32;
    private const int MaxUnknownProperties = 8;

    /// <summary>
    /// The allocation-free fast path of <see cref="Parse"/> over one UTF-8 line (without its LF; a trailing CR is ignored):
    /// true, with the event, only when <see cref="Parse"/> would accept the same line with exactly the same values. False
    /// means "not decided here": the line may be valid but unusual (non-ASCII bytes, JSON escapes in the fields read,
    /// leading whitespace, more than 8 unknown properties) or invalid; call <see cref="Parse"/> on its text for the outcome and
    /// the rejection reason. Never throws on bad input.
    /// </summary>
    public static bool TryAcceptUtf8(ReadOnlySpan<byte> line, out Utf8TelemetryEvent e)
    {
        e = default;
        if (line.Length > 0 && line[^1] == (byte)'\r') line = line[..^1];
        if (line.Length == 0 || line[0] != (byte)'{' || line.Length > MaxLineLength || !Ascii.IsValid(line)) return false;
        try
        {
            return TryAcceptAscii(line, out e);
        }
        catch (JsonException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static bool TryAcceptAscii(ReadOnlySpan<byte> line, out Utf8TelemetryEvent e)
    {
        e = default;
        var r = new Utf8JsonReader(line, ReaderOptions);
        if (!r.Read() || r.TokenType != JsonTokenType.StartObject) return false;
        var seen = 0;
        ReadOnlySpan<byte> id = default, ts = default, ev = default, code = default;
        JsonTokenType durToken = JsonTokenType.None, retryToken = JsonTokenType.None, codeToken = JsonTokenType.None;
        double dur = 0;
        var durOk = false;
        Span<int> unknownStart = stackalloc int[MaxUnknownProperties];
        Span<int> unknownLength = stackalloc int[MaxUnknownProperties];
        var unknown = 0;
        while (true)
        {
            if (!r.Read()) return false;
            if (r.TokenType == JsonTokenType.EndObject) break;
            if (r.TokenType != JsonTokenType.PropertyName || r.ValueIsEscaped) return false;
            var name = r.ValueSpan;
            var nameStart = (int)r.TokenStartIndex + 1;
            var bit = name.SequenceEqual("event_id"u8) ? IdBit
                : name.SequenceEqual("ts"u8) ? TsBit
                : name.SequenceEqual("event"u8) ? EventBit
                : name.SequenceEqual("duration_ms"u8) ? DurationBit
                : name.SequenceEqual("retryable"u8) ? RetryableBit
                : name.SequenceEqual("error_code"u8) ? CodeBit
                : 0;
            if (!r.Read()) return false;
            if (bit == 0)
            {
                for (var i = 0; i < unknown; i++)
                    if (line.Slice(unknownStart[i], unknownLength[i]).SequenceEqual(name)) return false;
                if (unknown == MaxUnknownProperties) return false;
                unknownStart[unknown] = nameStart;
                unknownLength[unknown++] = name.Length;
                r.Skip();
                continue;
            }
            if ((seen & bit) != 0) return false;
            seen |= bit;
            var token = r.TokenType;
            if (token == JsonTokenType.String && r.ValueIsEscaped) return false;
            switch (bit)
            {
                case IdBit: if (token != JsonTokenType.String) return false; id = r.ValueSpan; break;
                case TsBit: if (token != JsonTokenType.String) return false; ts = r.ValueSpan; break;
                case EventBit: if (token != JsonTokenType.String) return false; ev = r.ValueSpan; break;
                case DurationBit:
                    durToken = token;
                    if (token == JsonTokenType.Number) durOk = r.TryGetDouble(out dur);
                    else if (token is JsonTokenType.StartObject or JsonTokenType.StartArray) return false;
                    break;
                case RetryableBit:
                    retryToken = token;
                    if (token is JsonTokenType.StartObject or JsonTokenType.StartArray) return false;
                    break;
                case CodeBit:
                    codeToken = token;
                    if (token == JsonTokenType.String) code = r.ValueSpan;
                    else if (token is JsonTokenType.StartObject or JsonTokenType.StartArray) return false;
                    break;
            }
        }
        if (r.Read()) return false; // more than one JSON value on the line: let Parse word it
        if ((seen & (IdBit | TsBit | EventBit)) != (IdBit | TsBit | EventBit) || id.IsEmpty) return false;
        if (!Rfc3339.TryParseAscii(ts, out var when)) return false;

        var kind = ev.SequenceEqual("autosave.save.completed"u8) ? TelemetryEventKind.SaveCompleted
            : ev.SequenceEqual("autosave.save.error"u8) ? TelemetryEventKind.SaveError
            : ev.SequenceEqual("autosave.history.drift"u8) ? TelemetryEventKind.HistoryDrift
            : TelemetryEventKind.Other;

        // duration_ms: required on completed saves; elsewhere type-checked unless absent or null.
        double? duration = null;
        if (kind == TelemetryEventKind.SaveCompleted || durToken is not (JsonTokenType.None or JsonTokenType.Null))
        {
            if (durToken != JsonTokenType.Number || !durOk || !double.IsFinite(dur) || dur < 0) return false;
            duration = dur + 0.0; // -0 becomes 0
        }
        bool? retryable = null;
        if (kind == TelemetryEventKind.SaveError || retryToken is not (JsonTokenType.None or JsonTokenType.Null))
        {
            if (retryToken is not (JsonTokenType.True or JsonTokenType.False)) return false;
            retryable = retryToken == JsonTokenType.True;
        }
        if (codeToken is not (JsonTokenType.None or JsonTokenType.Null or JsonTokenType.String)) return false;

        var isError = kind == TelemetryEventKind.SaveError;
        e = new Utf8TelemetryEvent
        {
            EventId = id,
            Timestamp = when,
            Kind = kind,
            EventName = ev,
            DurationMs = kind == TelemetryEventKind.SaveCompleted ? duration : null,
            Retryable = isError ? retryable : null,
            ErrorCode = isError && codeToken == JsonTokenType.String ? code : default,
            HasErrorCode = isError && codeToken == JsonTokenType.String,
        };
        return true;
    }

    // Parse's fast path for an ASCII line: the same event as the full validation, built from the UTF-8 fast path.
    private static bool TryParseFast(string line, out ParsedLine parsed)
    {
        parsed = default;
        if (line.Length == 0 || line.Length > 4096 || line[0] != '{' || !Ascii.IsValid(line)) return false;
        Span<byte> bytes = stackalloc byte[line.Length];
        Ascii.FromUtf16(line, bytes, out _);
        if (!TryAcceptUtf8(bytes, out var u)) return false;
        var e = new TelemetryEvent(
            Encoding.ASCII.GetString(u.EventId), u.Timestamp, u.Kind, KnownName(u.Kind) ?? Encoding.ASCII.GetString(u.EventName),
            u.DurationMs, u.Retryable, u.HasErrorCode ? Encoding.ASCII.GetString(u.ErrorCode) : null);
        parsed = new ParsedLine(LineOutcome.Accepted, e, null, u.Timestamp);
        return true;
    }

    /// <summary>The event name constant of a known kind; null for <see cref="TelemetryEventKind.Other"/>.</summary>
    public static string? KnownName(TelemetryEventKind kind) => kind switch
    {
        TelemetryEventKind.SaveCompleted => EventNames.SaveCompleted,
        TelemetryEventKind.SaveError => EventNames.SaveError,
        TelemetryEventKind.HistoryDrift => EventNames.HistoryDrift,
        _ => null,
    };
}
