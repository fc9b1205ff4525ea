using System.Text;
using System.Text.Json;

namespace AutoSaveRollout.Core.Telemetry;

/// <summary>Result kind of parsing one telemetry line.</summary>
public enum LineOutcome
{
    /// <summary>Blank or whitespace-only: skipped, not counted.</summary>
    Blank,
    /// <summary>A valid event (possibly of an ignored kind).</summary>
    Accepted,
    /// <summary>Invalid; <see cref="ParsedLine.Reason"/> says why.</summary>
    Rejected,
}

/// <summary>The outcome of <see cref="TelemetryLineParser.Parse"/>.</summary>
/// <param name="Outcome">Blank, accepted or rejected.</param>
/// <param name="Event">The event when accepted.</param>
/// <param name="Reason">Why it was rejected (e.g. <c>duration_ms: expected a number, got string</c>).</param>
/// <param name="Timestamp">The line's <c>ts</c> in UTC whenever it could be read, even on rejected lines; used to place a
/// rejected line in its window.</param>
public readonly record struct ParsedLine(LineOutcome Outcome, TelemetryEvent? Event, string? Reason, DateTimeOffset? Timestamp);

/// <summary>
/// Validates one JSONL telemetry line against the input contract (issue "Collector → Analyzer → Reporter", Telemetry input):
/// <c>event_id</c>, <c>ts</c> (RFC 3339) and <c>event</c> are required strings on every line; <c>duration_ms</c> (finite
/// number ≥ 0) is required on <c>autosave.save.completed</c>; <c>retryable</c> (bool) is required on
/// <c>autosave.save.error</c>; <c>error_code</c> is an optional string. A known field that is present with the wrong type is
/// rejected even where it is not required (null counts as absent where the field is not required). Duplicate property
/// names are rejected. A UTF-8 BOM and a trailing CR are tolerated. Never throws on bad input.
/// </summary>
public static partial class TelemetryLineParser
{
    /// <summary>Lines longer than this (in UTF-16 code units, about 1 MiB) are rejected without parsing.</summary>
    public const int MaxLineLength = 1 << 20;

    private static readonly JsonDocumentOptions Options = new() { MaxDepth = 32, AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow };

    /// <summary>Parses one line (without its LF; a trailing CR and a leading BOM are stripped here).</summary>
    public static ParsedLine Parse(string line)
    {
        if (TryParseFast(line, out var fast)) return fast;
        var text = line.AsSpan();
        if (text.Length > 0 && text[0] == '\uFEFF') text = text[1..];
        if (text.Length > 0 && text[^1] == '\r') text = text[..^1];
        if (text.IsWhiteSpace()) return new ParsedLine(LineOutcome.Blank, null, null, null);
        if (text.Length > MaxLineLength) return Reject($"line longer than {MaxLineLength} characters", null);
        if (text.Contains('\uFFFD')) return Reject("invalid UTF-8", null);
        if (HasLoneSurrogate(text)) return Reject("invalid UTF-16 (unpaired surrogate)", null);

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text.ToString(), Options);
        }
        catch (JsonException ex)
        {
            return Reject("not valid JSON: " + Shorten(ex.Message), null);
        }

        using (doc)
        {
            try
            {
                return Validate(doc.RootElement);
            }
            catch (InvalidOperationException)
            {
                // System.Text.Json refuses to decode a string or name holding an escaped unpaired surrogate ("\ud800").
                return Reject("not valid JSON text: a \\u escape encodes an unpaired surrogate", null);
            }
        }
    }

    private static ParsedLine Validate(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object)
            return Reject($"not a JSON object (got {Describe(root.ValueKind)})", null);

        JsonElement? id = null, ts = null, ev = null, dur = null, retry = null, code = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in root.EnumerateObject())
        {
            if (!seen.Add(p.Name)) return Reject($"duplicate property '{Shorten(p.Name)}'", null);
            switch (p.Name)
            {
                case "event_id": id = p.Value; break;
                case "ts": ts = p.Value; break;
                case "event": ev = p.Value; break;
                case "duration_ms": dur = p.Value; break;
                case "retryable": retry = p.Value; break;
                case "error_code": code = p.Value; break;
            }
        }

        // ts first, so that a rejected line can still be placed in its window when its timestamp is readable.
        DateTimeOffset? when = null;
        string? tsProblem = RequireString(ts, "ts", out var tsText);
        if (tsProblem is null)
        {
            if (Rfc3339.TryParse(tsText!, out var parsed)) when = parsed;
            else tsProblem = $"ts: not an RFC 3339 timestamp ('{Shorten(tsText!)}')";
        }

        var problem = RequireString(id, "event_id", out var eventId);
        if (problem is null && eventId!.Length == 0) problem = "event_id: empty string";
        if (problem is not null) return Reject(problem, when);
        if (tsProblem is not null) return Reject(tsProblem, when);
        problem = RequireString(ev, "event", out var eventName);
        if (problem is not null) return Reject(problem, when);

        var kind = eventName switch
        {
            EventNames.SaveCompleted => TelemetryEventKind.SaveCompleted,
            EventNames.SaveError => TelemetryEventKind.SaveError,
            EventNames.HistoryDrift => TelemetryEventKind.HistoryDrift,
            _ => TelemetryEventKind.Other,
        };

        // duration_ms: required on completed saves, type-checked wherever present.
        double? duration = null;
        if (IsPresent(dur, required: kind == TelemetryEventKind.SaveCompleted))
        {
            if (dur is null) return Reject("duration_ms: missing (required on autosave.save.completed)", when);
            var d = dur.Value;
            if (d.ValueKind != JsonValueKind.Number) return Reject($"duration_ms: expected a number, got {Describe(d.ValueKind)}", when);
            if (!d.TryGetDouble(out var ms) || !double.IsFinite(ms)) return Reject("duration_ms: number out of range", when);
            if (ms < 0) return Reject($"duration_ms: negative ({Shorten(d.GetRawText())})", when);
            duration = ms + 0.0; // -0 becomes 0
        }

        bool? retryable = null;
        if (IsPresent(retry, required: kind == TelemetryEventKind.SaveError))
        {
            if (retry is null) return Reject("retryable: missing (required on autosave.save.error)", when);
            var r = retry.Value;
            if (r.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
                return Reject($"retryable: expected a boolean, got {Describe(r.ValueKind)}", when);
            retryable = r.GetBoolean();
        }

        string? errorCode = null;
        if (IsPresent(code, required: false))
        {
            if (code!.Value.ValueKind != JsonValueKind.String)
                return Reject($"error_code: expected a string, got {Describe(code.Value.ValueKind)}", when);
            errorCode = code.Value.GetString();
        }

        var e = new TelemetryEvent(
            eventId!, when!.Value, kind, eventName!,
            kind == TelemetryEventKind.SaveCompleted ? duration : null,
            kind == TelemetryEventKind.SaveError ? retryable : null,
            kind == TelemetryEventKind.SaveError ? errorCode : null);
        return new ParsedLine(LineOutcome.Accepted, e, null, when);
    }

    // A field counts as present when it exists and (unless required) is not JSON null.
    private static bool IsPresent(JsonElement? field, bool required) =>
        required || (field is { } f && f.ValueKind != JsonValueKind.Null);

    private static string? RequireString(JsonElement? field, string name, out string? value)
    {
        value = null;
        if (field is null) return $"{name}: missing";
        if (field.Value.ValueKind != JsonValueKind.String) return $"{name}: expected a string, got {Describe(field.Value.ValueKind)}";
        value = field.Value.GetString();
        return null;
    }

    private static ParsedLine Reject(string reason, DateTimeOffset? when) => new(LineOutcome.Rejected, null, reason, when);

    private static string Describe(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Object => "object",
        JsonValueKind.Array => "array",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.Null => "null",
        _ => "nothing",
    };

    private static string Shorten(string s) => s.Length <= 80 ? s : s[..(char.IsHighSurrogate(s[79]) ? 79 : 80)] + "…";

    private static bool HasLoneSurrogate(ReadOnlySpan<char> text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1])) i++;
            else if (char.IsSurrogate(text[i])) return true;
        }
        return false;
    }
}
