using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using AutoSaveRollout.Core.Simulation;

namespace AutoSaveRollout.Tests.Simulation;

public sealed partial class TelemetryGeneratorTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);

    internal sealed record Line(string EventId, DateTimeOffset Ts, string Event, double? DurationMs, bool? Retryable, string? ErrorCode, string Raw);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex TsFormat();

    internal static List<Line> ParseLines(string jsonl)
    {
        Assert.EndsWith("\n", jsonl);
        Assert.DoesNotContain("\r", jsonl);
        var result = new List<Line>();
        foreach (var raw in jsonl[..^1].Split('\n'))
        {
            using var doc = JsonDocument.Parse(raw);
            var o = doc.RootElement;
            var ts = o.GetProperty("ts").GetString()!;
            Assert.Matches(TsFormat(), ts);
            result.Add(new Line(
                o.GetProperty("event_id").GetString()!,
                DateTimeOffset.Parse(ts, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal),
                o.GetProperty("event").GetString()!,
                o.TryGetProperty("duration_ms", out var d) ? d.GetDouble() : null,
                o.TryGetProperty("retryable", out var r) ? r.GetBoolean() : null,
                o.TryGetProperty("error_code", out var c) ? c.GetString() : null,
                raw));
        }

        return result;
    }

    private static double Median(IEnumerable<double> values)
    {
        var s = values.Order().ToArray();
        return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
    }

    private static double Quantile(IEnumerable<double> values, double q)
    {
        var s = values.Order().ToArray();
        var h = (s.Length - 1) * q;
        var lo = (int)Math.Floor(h);
        return lo + 1 < s.Length ? s[lo] + (h - lo) * (s[lo + 1] - s[lo]) : s[lo];
    }

    [Fact]
    public void Same_options_and_seed_give_byte_identical_output_and_another_seed_differs()
    {
        var options = new TelemetryGeneratorOptions
        {
            Seed = 7, DiurnalAmplitude = 0.5, DriftPerHour = 2, ErrorRatio = 0.05,
            Incidents = [new TelemetryIncident(TimeSpan.FromMinutes(30), TimeSpan.FromMinutes(15), 3, 0.2, 2)],
        };

        var first = TelemetryGenerator.WriteToString(options);
        var second = TelemetryGenerator.WriteToString(options with { });
        var otherSeed = TelemetryGenerator.WriteToString(options with { Seed = 8 });

        Assert.Equal(first, second);
        Assert.NotEqual(first, otherSeed);
        Assert.StartsWith("{\"event_id\":\"evt-7-00000001\",\"ts\":\"2026-11-20T08:", first);
    }

    [Fact]
    public void Lines_are_sorted_by_ts_inside_the_stretch_with_unique_sequential_ids_and_the_documented_fields()
    {
        var options = new TelemetryGeneratorOptions
        {
            Seed = 3, Duration = TimeSpan.FromHours(3), ErrorRatio = 0.1, DriftPerHour = 4,
            Incidents = [new TelemetryIncident(TimeSpan.FromMinutes(60), TimeSpan.FromMinutes(10), 2, null, 3)],
        };
        var text = TelemetryGenerator.WriteToString(options);
        var lines = ParseLines(text);

        Assert.True(lines.Count > 2000);
        for (var i = 0; i < lines.Count; i++)
        {
            var l = lines[i];
            Assert.Equal($"evt-3-{i + 1:D8}", l.EventId);
            Assert.InRange(l.Ts, Start, Start.AddHours(3).AddTicks(-1));
            if (i > 0) Assert.True(lines[i - 1].Ts <= l.Ts, $"line {i + 1} is out of order");
            switch (l.Event)
            {
                case TelemetryGenerator.SaveCompleted:
                    Assert.True(l.DurationMs >= 0);
                    Assert.Null(l.Retryable);
                    Assert.Matches(@"""duration_ms"":\d+\.\d{3}}$", l.Raw);
                    break;
                case TelemetryGenerator.SaveError:
                    Assert.NotNull(l.Retryable);
                    Assert.Null(l.DurationMs);
                    if (l.ErrorCode is not null)
                        Assert.Contains(l.ErrorCode, l.Retryable!.Value ? ["ETIMEDOUT", "EIO"] : new[] { "CONFLICT", "QUOTA" });
                    break;
                default:
                    Assert.Equal(TelemetryGenerator.HistoryDrift, l.Event);
                    Assert.Null(l.DurationMs);
                    Assert.Null(l.Retryable);
                    break;
            }
        }

        Assert.Contains(lines, l => l.Event == TelemetryGenerator.SaveError && l.Retryable == true);
        Assert.Contains(lines, l => l.Event == TelemetryGenerator.SaveError && l.Retryable == false);
        Assert.Contains(lines, l => l.Event == TelemetryGenerator.SaveError && l.ErrorCode is null);
    }

    [Fact]
    public void Save_rate_over_a_day_matches_the_configured_poisson_rate()
    {
        var options = new TelemetryGeneratorOptions { Seed = 11, Duration = TimeSpan.FromHours(24), SavesPerSecond = 0.5, ErrorRatio = 0.01 };
        var lines = ParseLines(TelemetryGenerator.WriteToString(options));

        var saves = lines.Count(l => l.Event is TelemetryGenerator.SaveCompleted or TelemetryGenerator.SaveError);
        const double expected = 0.5 * 86_400; // 43,200; Poisson σ ≈ 208
        Assert.InRange(saves, expected - 4 * Math.Sqrt(expected), expected + 4 * Math.Sqrt(expected));

        // Error share ≈ 1 % (binomial σ ≈ 0.048 percentage points).
        var errors = lines.Count(l => l.Event == TelemetryGenerator.SaveError);
        Assert.InRange(100.0 * errors / saves, 0.8, 1.2);
    }

    [Fact]
    public void Diurnal_modulation_follows_the_cosine_around_the_peak_hour()
    {
        var options = new TelemetryGeneratorOptions
        {
            Seed = 5, Start = new DateTimeOffset(2026, 11, 20, 0, 0, 0, TimeSpan.Zero), Duration = TimeSpan.FromHours(24),
            SavesPerSecond = 0.5, DiurnalAmplitude = 0.8, PeakHourUtc = 14,
        };
        var lines = ParseLines(TelemetryGenerator.WriteToString(options));

        for (var hour = 0; hour < 24; hour++)
        {
            // Expected count: ∫ rate over the hour = 1800 × (1 + 0.8 × mean of cos over the hour).
            var a = 2 * Math.PI * (hour - 14) / 24;
            var b = 2 * Math.PI * (hour + 1 - 14) / 24;
            var expected = 0.5 * 3600 * (1 + 0.8 * (Math.Sin(b) - Math.Sin(a)) / (b - a));
            var actual = lines.Count(l => l.Ts.Hour == hour);
            Assert.InRange(actual, expected - 5 * Math.Sqrt(expected), expected + 5 * Math.Sqrt(expected));
        }

        Assert.True(lines.Count(l => l.Ts.Hour == 14) > 5 * lines.Count(l => l.Ts.Hour == 2));
    }

    [Fact]
    public void Log_normal_latency_has_the_configured_median_and_p95()
    {
        var options = new TelemetryGeneratorOptions { Seed = 21, Duration = TimeSpan.FromHours(12), MedianMs = 800, Sigma = 0.4, ErrorRatio = 0 };
        var durations = ParseLines(TelemetryGenerator.WriteToString(options)).Select(l => l.DurationMs!.Value).ToList();

        Assert.True(durations.Count > 9000);
        Assert.InRange(Median(durations), 800 * 0.97, 800 * 1.03);
        var p95 = 800 * Math.Exp(1.6448536 * 0.4); // ≈ 1545 ms
        Assert.InRange(Quantile(durations, 0.95), p95 * 0.95, p95 * 1.05);
        Assert.All(durations, d => Assert.True(d > 0));
    }

    [Fact]
    public void An_incident_raises_latency_overrides_errors_and_adds_drift_only_inside_its_window()
    {
        var options = new TelemetryGeneratorOptions
        {
            Seed = 9, Duration = TimeSpan.FromHours(2), SavesPerSecond = 1, ErrorRatio = 0.001,
            Incidents = [new TelemetryIncident(TimeSpan.FromMinutes(45), TimeSpan.FromMinutes(15), LatencyMultiplier: 4, ErrorRatio: 0.2, ExtraDriftEvents: 3)],
        };
        var lines = ParseLines(TelemetryGenerator.WriteToString(options));
        var from = Start.AddMinutes(45);
        var to = Start.AddMinutes(60);
        bool Inside(Line l) => l.Ts >= from && l.Ts < to;

        var inside = lines.Where(Inside).ToList();
        var outside = lines.Where(l => !Inside(l)).ToList();
        var insideMedian = Median(inside.Where(l => l.DurationMs is not null).Select(l => l.DurationMs!.Value));
        var outsideMedian = Median(outside.Where(l => l.DurationMs is not null).Select(l => l.DurationMs!.Value));
        Assert.InRange(insideMedian / outsideMedian, 3.4, 4.6);
        Assert.InRange(outsideMedian, 570, 630);

        double ErrorPct(List<Line> ls) =>
            100.0 * ls.Count(l => l.Event == TelemetryGenerator.SaveError) / ls.Count(l => l.Event != TelemetryGenerator.HistoryDrift);
        Assert.InRange(ErrorPct(inside), 16, 24);
        Assert.InRange(ErrorPct(outside), 0, 0.5);

        Assert.Equal(3, inside.Count(l => l.Event == TelemetryGenerator.HistoryDrift));
        Assert.Equal(0, outside.Count(l => l.Event == TelemetryGenerator.HistoryDrift));
    }

    [Fact]
    public void Drift_events_follow_the_configured_hourly_rate()
    {
        var options = new TelemetryGeneratorOptions { Seed = 2, Duration = TimeSpan.FromHours(200), SavesPerSecond = 0, DriftPerHour = 3 };
        var lines = ParseLines(TelemetryGenerator.WriteToString(options));

        Assert.All(lines, l => Assert.Equal(TelemetryGenerator.HistoryDrift, l.Event));
        Assert.InRange(lines.Count, 600 - 4 * Math.Sqrt(600), 600 + 4 * Math.Sqrt(600));
    }

    [Fact]
    public void Zero_rate_and_no_drift_writes_nothing()
    {
        var summary = TelemetryGenerator.Write(new TelemetryGeneratorOptions { SavesPerSecond = 0 }, new StringWriter());
        Assert.Equal(new TelemetryGenerationSummary(0, 0, 0), summary);
    }

    public static TheoryData<string, TelemetryGeneratorOptions> BadOptions => new()
    {
        { "Duration", new TelemetryGeneratorOptions { Duration = TimeSpan.Zero } },
        { "SavesPerSecond", new TelemetryGeneratorOptions { SavesPerSecond = -1 } },
        { "DiurnalAmplitude", new TelemetryGeneratorOptions { DiurnalAmplitude = 1.5 } },
        { "MedianMs", new TelemetryGeneratorOptions { MedianMs = 0 } },
        { "Sigma", new TelemetryGeneratorOptions { Sigma = double.NaN } },
        { "ErrorRatio", new TelemetryGeneratorOptions { ErrorRatio = 5 } },
        { "RetryableShare", new TelemetryGeneratorOptions { RetryableShare = -0.1 } },
        { "DriftPerHour", new TelemetryGeneratorOptions { DriftPerHour = double.PositiveInfinity } },
        { "Incident.Length", new TelemetryGeneratorOptions { Incidents = [new TelemetryIncident(TimeSpan.Zero, TimeSpan.Zero)] } },
        { "Incident.ErrorRatio", new TelemetryGeneratorOptions { Incidents = [new TelemetryIncident(TimeSpan.Zero, TimeSpan.FromMinutes(1), 1, 1.5)] } },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public void Out_of_range_options_are_rejected(string parameter, TelemetryGeneratorOptions options)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => TelemetryGenerator.Write(options, new StringWriter()));
        Assert.Equal(parameter, ex.ParamName);
    }
}
