using AutoSaveRollout.Core.Telemetry;

namespace AutoSaveRollout.Tests.Telemetry;

public class TelemetryLineParserTests
{
    private const string Ts = "2026-11-20T10:00:03.123Z";

    [Fact]
    public void Completed_event_is_accepted_with_fractional_duration_and_utc_timestamp()
    {
        var p = TelemetryLineParser.Parse("""{"event_id":"e1","ts":"2026-11-20T19:00:03.5+09:00","event":"autosave.save.completed","duration_ms":812.25}""");
        Assert.Equal(LineOutcome.Accepted, p.Outcome);
        var e = p.Event!;
        Assert.Equal(TelemetryEventKind.SaveCompleted, e.Kind);
        Assert.Equal(812.25, e.DurationMs);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 10, 0, 3, 500, TimeSpan.Zero), e.Timestamp);
        Assert.Equal(TimeSpan.Zero, e.Timestamp.Offset);
    }

    [Fact]
    public void Error_event_keeps_retryable_and_optional_error_code()
    {
        var p = TelemetryLineParser.Parse($$"""{"event_id":"e2","ts":"{{Ts}}","event":"autosave.save.error","retryable":false,"error_code":"EIO"}""");
        Assert.Equal(LineOutcome.Accepted, p.Outcome);
        Assert.Equal(false, p.Event!.Retryable);
        Assert.Equal("EIO", p.Event.ErrorCode);
    }

    [Fact]
    public void Unknown_event_names_are_accepted_as_other()
    {
        var p = TelemetryLineParser.Parse($$"""{"event_id":"e3","ts":"{{Ts}}","event":"autosave.save.started"}""");
        Assert.Equal(LineOutcome.Accepted, p.Outcome);
        Assert.Equal(TelemetryEventKind.Other, p.Event!.Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t ")]
    [InlineData("\r")]
    [InlineData("\uFEFF")]
    public void Blank_lines_are_skipped(string line) => Assert.Equal(LineOutcome.Blank, TelemetryLineParser.Parse(line).Outcome);

    [Fact]
    public void Bom_and_trailing_cr_are_tolerated()
    {
        var p = TelemetryLineParser.Parse("\uFEFF" + $$"""{"event_id":"e","ts":"{{Ts}}","event":"autosave.history.drift"}""" + "\r");
        Assert.Equal(LineOutcome.Accepted, p.Outcome);
        Assert.Equal(TelemetryEventKind.HistoryDrift, p.Event!.Kind);
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("[1,2]", "not a JSON object (got array)")]
    [InlineData("\"text\"", "not a JSON object (got string)")]
    [InlineData("""{"ts":"2026-11-20T10:00:03Z","event":"autosave.save.completed","duration_ms":1}""", "event_id: missing")]
    [InlineData("""{"event_id":7,"ts":"2026-11-20T10:00:03Z","event":"autosave.save.completed","duration_ms":1}""", "event_id: expected a string, got number")]
    [InlineData("""{"event_id":"","ts":"2026-11-20T10:00:03Z","event":"autosave.save.completed","duration_ms":1}""", "event_id: empty string")]
    [InlineData("""{"event_id":"a","event":"autosave.save.completed","duration_ms":1}""", "ts: missing")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20 10:00:03","event":"autosave.save.completed","duration_ms":1}""", "ts: not an RFC 3339 timestamp ('2026-11-20 10:00:03')")]
    [InlineData("""{"event_id":"a","ts":"2026-02-30T10:00:03Z","event":"autosave.save.completed","duration_ms":1}""", "ts: not an RFC 3339 timestamp ('2026-02-30T10:00:03Z')")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","duration_ms":1}""", "event: missing")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.save.completed"}""", "duration_ms: missing (required on autosave.save.completed)")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.save.completed","duration_ms":"812"}""", "duration_ms: expected a number, got string")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.save.completed","duration_ms":null}""", "duration_ms: expected a number, got null")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.save.completed","duration_ms":-0.5}""", "duration_ms: negative (-0.5)")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.save.completed","duration_ms":1e999}""", "duration_ms: number out of range")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.save.error"}""", "retryable: missing (required on autosave.save.error)")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.save.error","retryable":"yes"}""", "retryable: expected a boolean, got string")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.save.error","retryable":true,"error_code":5}""", "error_code: expected a string, got number")]
    [InlineData("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.history.drift","duration_ms":"x"}""", "duration_ms: expected a number, got string")]
    [InlineData("""{"event_id":"a","event_id":"b","ts":"2026-11-20T10:00:03Z","event":"autosave.history.drift"}""", "duplicate property 'event_id'")]
    public void Bad_lines_are_rejected_with_their_reason(string line, string reason)
    {
        var p = TelemetryLineParser.Parse(line);
        Assert.Equal(LineOutcome.Rejected, p.Outcome);
        Assert.StartsWith(reason, p.Reason);
    }

    [Fact]
    public void A_rejected_line_keeps_its_readable_timestamp_for_window_placement()
    {
        var p = TelemetryLineParser.Parse("""{"event_id":"a","ts":"2026-11-20T10:14:59.9999999Z","event":"autosave.save.completed","duration_ms":"812"}""");
        Assert.Equal(LineOutcome.Rejected, p.Outcome);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 10, 14, 59, TimeSpan.Zero).AddTicks(9_999_999), p.Timestamp);
    }

    [Fact]
    public void Null_is_absent_for_fields_that_are_not_required()
    {
        var p = TelemetryLineParser.Parse("""{"event_id":"a","ts":"2026-11-20T10:00:03Z","event":"autosave.save.error","retryable":true,"error_code":null,"duration_ms":null}""");
        Assert.Equal(LineOutcome.Accepted, p.Outcome);
        Assert.Null(p.Event!.ErrorCode);
    }

    [Fact]
    public void Deep_nesting_and_huge_lines_are_rejected_not_thrown()
    {
        var deep = "{\"event_id\":\"a\",\"x\":" + new string('[', 200) + new string(']', 200) + "}";
        Assert.Equal(LineOutcome.Rejected, TelemetryLineParser.Parse(deep).Outcome);
        var huge = "{\"event_id\":\"" + new string('x', TelemetryLineParser.MaxLineLength) + "\"}";
        Assert.Equal($"line longer than {TelemetryLineParser.MaxLineLength} characters", TelemetryLineParser.Parse(huge).Reason);
    }

    [Theory]
    [InlineData("2026-11-20T10:00:00Z", "2026-11-20T10:00:00.0000000+00:00")]
    [InlineData("2026-11-20t10:00:00z", "2026-11-20T10:00:00.0000000+00:00")]
    [InlineData("2026-11-20T00:30:00-05:30", "2026-11-20T06:00:00.0000000+00:00")]
    [InlineData("2026-11-20T10:00:00.123456789Z", "2026-11-20T10:00:00.1234567+00:00")]
    public void Rfc3339_parses_offsets_and_fractions(string text, string expectedRoundTrip)
    {
        Assert.True(Rfc3339.TryParse(text, out var utc));
        Assert.Equal(expectedRoundTrip, utc.ToString("O"));
    }

    [Theory]
    [InlineData("2026-11-20T10:00:00")]
    [InlineData("2026-11-20")]
    [InlineData("2026-11-20T24:00:00Z")]
    [InlineData("2026-11-20T10:00:60Z")]
    [InlineData("20261120T100000Z")]
    public void Rfc3339_rejects_non_conforming_text(string text) => Assert.False(Rfc3339.TryParse(text, out _));
}
