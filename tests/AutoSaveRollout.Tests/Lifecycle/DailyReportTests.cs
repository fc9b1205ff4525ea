using System.Text;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Lifecycle;

public sealed class DailyReportTests : IDisposable
{
    private static readonly DateOnly Day = new(2026, 11, 20);
    private static readonly DateTimeOffset Midnight = new(2026, 11, 20, 0, 0, 0, TimeSpan.Zero);

    private readonly string _root = Directory.CreateTempSubdirectory("autosave-daily-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { }
    }

    /// <summary>A decision of window <paramref name="index"/> (0–95) of the day starting at <paramref name="midnight"/>.</summary>
    private static DecisionRecord Decision(DateTimeOffset midnight, int index, string phase, string status, double? p95, double? err,
        string p95Status = "ok", string errStatus = "ok")
    {
        var start = midnight.AddMinutes(15 * index);
        return new DecisionRecord
        {
            DecisionId = $"dec-{TimeWindow.StartingAt(start).Id}-{phase}-000000000000",
            Flag = "autosave",
            WindowStart = start,
            WindowEnd = start.AddMinutes(15),
            Phase = phase,
            Status = status,
            RollbackRequired = status == "violation",
            Metrics = new Dictionary<string, DecisionMetric>
            {
                [MetricNames.P95] = new(p95, 1.0, 0.8, p95Status),
                [MetricNames.ErrorRate] = new(err, 2.0, 1.6, errStatus),
            },
            Violations = [],
            Samples = new DecisionSamples(100, 1, 0, 0, 1),
            NextPhase = phase,
            CollectorDelayed = false,
            PolicySha256 = "p",
            BatchSha256 = "b",
            BatchPath = "autosave/x.jsonl",
            DecidedAt = start.AddMinutes(20),
        };
    }

    private static DecisionRecord C(int index, string status, double? p95, double? err = 0.5) => Decision(Midnight, index, "C", status, p95, err);

    private static DecisionRecord Prev(int index, double? p95, double? err) => Decision(Midnight.AddDays(-1), index, "C", "ok", p95, err);

    [Fact]
    public void Counts_statuses_phases_and_missing_windows_and_compliance_of_conclusive_C_windows()
    {
        List<DecisionRecord> day =
        [
            C(0, "ok", 0.5), C(1, "ok", 0.5), C(2, "ok", 0.5), C(3, "ok", 0.5), C(4, "ok", 0.5),
            C(5, "warn", 0.85), C(6, "warn", 0.85),
            C(7, "violation", 1.5),
            C(8, "inconclusive", 0.4),
            C(9, "off", null),
            Decision(Midnight, 10, "B", "violation", 9.0, 9.0), // judged in another phase: not counted anywhere but other phase
            Decision(Midnight.AddDays(1), 0, "C", "ok", 0.5, 0.5), // next day: ignored
        ];

        var r = DailyReport.Build(Day, "autosave", day, [], ["PD1", "PD2", "PD1", " "]);

        Assert.Equal((96, 10, 1, 85), (r.WindowsExpected, r.WindowsJudged, r.WindowsOtherPhase, r.WindowsMissing));
        Assert.Equal(new DailyStatusCounts(5, 2, 1, 1, 1), r.Statuses);
        Assert.Equal((7, 8, 87.5), (r.CompliantWindows, r.ConclusiveWindows, r.CompliancePct));
        Assert.Equal((2, "PD1,PD2"), (r.Incidents, string.Join(",", r.IncidentIds)));
        Assert.Equal((Day, "autosave"), (r.Date, r.Flag));
        Assert.Empty(r.Unreadable);
        Assert.Equal(1.5, r.P95Seconds.Max); // the B window's 9.0 does not count
    }

    [Fact]
    public void Zero_conclusive_windows_give_no_compliance_figure()
    {
        var r = DailyReport.Build(Day, "autosave", [C(0, "inconclusive", null), C(1, "inconclusive", null)], [], []);

        Assert.Equal((0, 0, (double?)null), (r.CompliantWindows, r.ConclusiveWindows, r.CompliancePct));
        Assert.Equal("n/a (0 conclusive)", DailyReport.TemplateValues(r)["compliance"]);
    }

    [Fact]
    public void Medians_take_the_middle_value_or_the_mean_of_the_two_middle_values()
    {
        Assert.Equal(0.7, DailyReport.Median([0.9, 0.5, 0.7]));
        Assert.Equal(0.75, DailyReport.Median([0.9, 0.5, 0.8, 0.7]));
        Assert.Equal(3.0, DailyReport.Median([3.0]));
        Assert.Null(DailyReport.Median([]));
    }

    [Fact]
    public void The_day_median_and_max_leave_out_nulls_inconclusive_metrics_and_other_phases()
    {
        List<DecisionRecord> day =
        [
            C(0, "ok", 0.5), C(1, "ok", 0.9), C(2, "ok", 0.7), C(3, "warn", 0.8),
            C(4, "inconclusive", null, null),                                                   // no value
            Decision(Midnight, 5, "C", "inconclusive", 5.0, 50.0, "inconclusive", "inconclusive"), // too few samples: noise
            Decision(Midnight, 6, "A", "ok", 0.1, 0.1),                                         // another phase
        ];

        var r = DailyReport.Build(Day, "autosave", day, [], []);

        Assert.Equal((4, 0.75, 0.9), (r.P95Seconds.Windows, r.P95Seconds.Median, r.P95Seconds.Max));
        Assert.Equal((4, 0.5, 0.5), (r.ErrorRatePct.Windows, r.ErrorRatePct.Median, r.ErrorRatePct.Max));
    }

    [Fact]
    public void Hourly_medians_have_24_entries_with_null_for_hours_without_data()
    {
        List<DecisionRecord> day =
        [
            C(0, "ok", 1.0), C(1, "ok", 4.0), C(2, "ok", 2.0), C(3, "ok", 3.0), // 00:00–01:00 → 2.5
            C(9, "ok", 0.6),                                                   // 02:15 → 0.6
            C(95, "ok", 0.3), C(94, "ok", 0.2), C(93, "ok", 0.1),               // 23:15–00:00 → 0.2
        ];

        var hourly = DailyReport.Build(Day, "autosave", day, [], []).P95Seconds.HourlyMedians;

        Assert.Equal(24, hourly.Count);
        Assert.Equal((2.5, (double?)null, 0.6, 0.2), (hourly[0], hourly[1], hourly[2], hourly[23]));
        Assert.Equal(21, hourly.Count(h => h is null));
    }

    /// <summary>Today's and the previous day's values (one window each, so each is the median) → trend, change, p95_trend text.</summary>
    public static TheoryData<double?, double?, string?, double?, string> P95Trends => new()
    {
        { 0.812, 0.788, "up", (0.812 - 0.788) / 0.788 * 100, "0.812s (↑3.0% vs 0.788s)" },
        { 0.788, 0.812, "down", (0.788 - 0.812) / 0.812 * 100, "0.788s (↓3.0% vs 0.812s)" },
        { 0.788, 0.788, "flat", 0.0, "0.788s (→0.0% vs 0.788s)" },
        { 1.0004, 1.0, "flat", (1.0004 - 1.0) / 1.0 * 100, "1.000s (→0.0% vs 1.000s)" },  // 0.04 % shows as 0.0 %: flat
        { 1.0006, 1.0, "up", (1.0006 - 1.0) / 1.0 * 100, "1.001s (↑0.1% vs 1.000s)" },    // 0.06 % shows as 0.1 %: up
        { 0.812, null, null, null, "0.812s (trend n/a)" },                                 // no previous day
        { null, 0.788, null, null, "n/a" },                                                // no value today
    };

    [Theory]
    [MemberData(nameof(P95Trends))]
    public void P95_trend_compares_medians_with_the_previous_day(double? today, double? previous, string? trend, double? change, string text)
    {
        List<DecisionRecord> day = today is { } t ? [C(40, "ok", t)] : [];
        List<DecisionRecord> before = previous is { } p ? [Prev(40, p, 0.5)] : [];

        var r = DailyReport.Build(Day, "autosave", day, before, []);

        Assert.Equal((trend, previous), (r.P95Seconds.Trend, r.P95Seconds.PreviousMedian));
        if (change is null) Assert.Null(r.P95Seconds.ChangePct);
        else Assert.Equal(change.Value, r.P95Seconds.ChangePct!.Value, 12);
        Assert.Equal(text, DailyReport.TemplateValues(r)["p95_trend"]);
    }

    [Fact]
    public void Error_rate_trend_from_zero_has_a_direction_but_no_relative_size()
    {
        var up = DailyReport.Build(Day, "autosave", [C(0, "ok", 0.5, 0.5)], [Prev(0, 0.5, 0.0)], []);
        var same = DailyReport.Build(Day, "autosave", [C(0, "ok", 0.5, 0.0)], [Prev(0, 0.5, 0.0)], []);
        var down = DailyReport.Build(Day, "autosave", [C(0, "ok", 0.5, 0.42)], [Prev(0, 0.5, 0.47)], []);

        Assert.Equal(("up", (double?)null, "0.50% (↑ vs 0.00%)"), (up.ErrorRatePct.Trend, up.ErrorRatePct.ChangePct, DailyReport.TemplateValues(up)["err_trend"]));
        Assert.Equal(("flat", (double?)0.0, "0.00% (→0.0% vs 0.00%)"), (same.ErrorRatePct.Trend, same.ErrorRatePct.ChangePct, DailyReport.TemplateValues(same)["err_trend"]));
        Assert.Equal(("down", "0.42% (↓10.6% vs 0.47%)"), (down.ErrorRatePct.Trend, DailyReport.TemplateValues(down)["err_trend"]));
    }

    [Fact]
    public void The_previous_day_median_uses_only_its_C_windows()
    {
        List<DecisionRecord> before =
        [
            Prev(0, 0.6, 0.5), Prev(1, 0.8, 0.5), Prev(2, 1.0, 0.5),
            Decision(Midnight.AddDays(-1), 3, "B", "ok", 9.0, 0.5),
            Decision(Midnight.AddDays(-1), 4, "C", "inconclusive", 9.0, 0.5, p95Status: "inconclusive"),
        ];

        var r = DailyReport.Build(Day, "autosave", [C(0, "ok", 0.8)], before, []);

        Assert.Equal((3, 0.8, "flat"), (r.P95Seconds.PreviousWindows, r.P95Seconds.PreviousMedian, r.P95Seconds.Trend));
    }

    [Fact]
    public void Renders_the_one_line_daily_message()
    {
        List<DecisionRecord> day =
        [
            C(0, "ok", 0.7, 0.4), C(1, "ok", 0.8, 0.44), C(2, "warn", 0.85, 0.5), C(3, "violation", 1.2346, 2.5),
            C(4, "inconclusive", null, null), Decision(Midnight, 5, "B", "ok", 0.5, 0.5),
        ];
        List<DecisionRecord> before = [Prev(0, 0.8, 0.5), Prev(1, 0.8, 0.5)];

        var r = DailyReport.Build(Day, "autosave", day, before, ["Q1<x>&"]);
        var text = TemplateRenderer.Load().Render(TemplateIds.Daily, DailyReport.TemplateValues(r), SlackText.Escape);

        Assert.Equal(
            "📊 AutoSave C daily 2026-11-20 (UTC) / windows in C=5/96 (ok 2, warn 1, violation 1, inconclusive 1; " +
            "other phase 1, missing 90) / compliance=75.0% (3/4 conclusive) / incidents=1 (Q1&lt;x&gt;&amp;) / " +
            "p95 median=0.825s (↑3.1% vs 0.800s) max=1.235s / err median=0.47% (↓6.0% vs 0.50%) max=2.50%",
            text);
    }

    [Fact]
    public void An_unknown_status_is_named_in_the_windows_value()
    {
        var r = DailyReport.Build(Day, "autosave", [C(0, "ok", 0.5), C(1, "off", null)], [], []);

        Assert.Equal("2/96 (ok 1, warn 0, violation 0, inconclusive 0, other status 1; other phase 0, missing 94)",
            DailyReport.TemplateValues(r)["windows"]);
    }

    [Fact]
    public void Many_incidents_are_summarised_in_the_message()
    {
        var r = DailyReport.Build(Day, "autosave", [], [], ["a", "b", "c", "d", "e", "f", "g"]);

        Assert.Equal(7, r.IncidentIds.Count);
        Assert.Equal("7 (a, b, c, d, e, +2 more)", DailyReport.TemplateValues(r)["incidents"]);
        Assert.Equal("0", DailyReport.TemplateValues(DailyReport.Build(Day, "autosave", [], [], []))["incidents"]);
    }

    [Fact]
    public void Two_decisions_of_one_window_are_a_caller_error()
    {
        var e = Assert.Throws<ArgumentException>(() => DailyReport.Build(Day, "autosave", [C(3, "ok", 0.5), C(3, "warn", 0.9)], [], []));
        Assert.Contains("2026-11-20T00:45Z", e.Message);
    }

    [Fact]
    public void Null_fields_of_a_hand_edited_record_do_not_throw()
    {
        var broken = C(0, "ok", 0.5) with { Status = null!, Metrics = null! };

        var r = DailyReport.Build(Day, "autosave", [broken, C(1, "ok", 0.6)], [], []);

        Assert.Equal((2, 1, 1, 0.6), (r.WindowsJudged, r.Statuses.Other, r.P95Seconds.Windows, r.P95Seconds.Median));
    }

    [Fact]
    public async Task LoadAsync_reads_both_days_and_counts_missing_and_unreadable_blobs_as_missing()
    {
        var blobs = new FileBlobStore(Path.Combine(_root, "blobs"));
        async Task Put(DecisionRecord d) =>
            await blobs.PutAsync(StorePaths.Decision(TimeWindow.StartingAt(d.WindowStart)), Json.ToBytes(d), WriteCondition.None);
        async Task PutRaw(DateTimeOffset start, string text) =>
            await blobs.PutAsync(StorePaths.Decision(TimeWindow.StartingAt(start)), Encoding.UTF8.GetBytes(text), WriteCondition.None);

        await Put(C(0, "ok", 0.8, 0.4));
        await Put(C(1, "warn", 0.9, 0.6));
        await Put(C(95, "violation", 1.5, 3.0));
        await PutRaw(Midnight.AddMinutes(15 * 2), "{\"decision_id\": \"dec-");                    // truncated JSON
        var elsewhere = Json.ToBytes(C(10, "ok", 0.1, 0.1));                                       // another window's record
        await blobs.PutAsync(StorePaths.Decision(TimeWindow.StartingAt(Midnight.AddMinutes(15 * 3))), elsewhere, WriteCondition.None);
        var nulled = JsonNode.Parse(Json.ToBytes(C(4, "ok", 0.1, 0.1)))!;
        nulled["metrics"] = null;
        await PutRaw(Midnight.AddMinutes(15 * 4), nulled.ToJsonString());                          // metrics: null
        await Put(Prev(0, 0.7, 0.5));
        await Put(Prev(1, 0.7, 0.5));
        await PutRaw(Midnight.AddDays(-1).AddMinutes(15 * 7), "not json at all");

        var r = await DailyReport.LoadAsync(blobs, Day, "autosave", ["PD9"], CancellationToken.None);

        Assert.Equal((3, 0, 93), (r.WindowsJudged, r.WindowsOtherPhase, r.WindowsMissing));
        Assert.Equal(new DailyStatusCounts(1, 1, 1, 0, 0), r.Statuses);
        Assert.Equal(
            ["decisions/2026/11/20/0030.json", "decisions/2026/11/20/0045.json", "decisions/2026/11/20/0100.json", "decisions/2026/11/19/0145.json"],
            r.Unreadable);
        Assert.Equal((0.9, 1.5, 0.7, "up"), (r.P95Seconds.Median, r.P95Seconds.Max, r.P95Seconds.PreviousMedian, r.P95Seconds.Trend));
        Assert.Equal((1, "PD9"), (r.Incidents, r.IncidentIds.Single()));

        // What gets written to reports/daily/<date>.json: snake_case, the date as yyyy-MM-dd, reads back.
        await blobs.PutAsync(StorePaths.DailyReport(Day), Json.ToBytes(r), WriteCondition.None);
        var stored = (await blobs.TryGetAsync("reports/daily/2026-11-20.json"))!.Content;
        var json = JsonNode.Parse(stored)!;
        Assert.Equal("2026-11-20", (string?)json["date"]);
        Assert.Equal(93, (int?)json["windows_missing"]);
        Assert.Equal(24, json["p95_seconds"]!["hourly_medians"]!.AsArray().Count);
        Assert.Equal(4, json["unreadable"]!.AsArray().Count);
        var back = Json.FromBytes<DailyReport>(stored);
        Assert.Equal((r.Date, r.CompliancePct, r.P95Seconds.Median, r.Statuses), (back.Date, back.CompliancePct, back.P95Seconds.Median, back.Statuses));
    }

    [Fact]
    public async Task LoadAsync_of_an_empty_store_reports_every_window_missing()
    {
        var r = await DailyReport.LoadAsync(new FileBlobStore(Path.Combine(_root, "empty")), Day, "autosave", [], CancellationToken.None);

        Assert.Equal((0, 96, (double?)null, (double?)null), (r.WindowsJudged, r.WindowsMissing, r.CompliancePct, r.P95Seconds.Median));
        Assert.False(r.PhaseCInEffect(null));
    }

    /// <summary>now (UTC unless an offset is given), last handled day, last decided window start → due day.</summary>
    public static TheoryData<string, string?, string?, string?> DueDays => new()
    {
        { "2026-11-21T00:20:00Z", null, "2026-11-20T23:45:00Z", "2026-11-20" },   // last window decided: due at once
        { "2026-11-21T00:20:00Z", null, "2026-11-20T23:30:00Z", null },           // last window not decided yet
        { "2026-11-21T00:59:59Z", null, null, null },
        { "2026-11-21T01:00:00Z", null, "2026-11-20T23:30:00Z", "2026-11-20" },   // settle time passed: report what is there
        { "2026-11-21T00:00:00Z", null, "2026-11-20T23:30:00Z", null },           // the day has just closed
        { "2026-11-20T23:59:59Z", null, "2026-11-20T23:30:00Z", "2026-11-19" },   // before midnight the latest closed day is the one before
        { "2026-11-21T00:20:00Z", "2026-11-20", "2026-11-20T23:45:00Z", null },   // already handled: never twice
        { "2026-11-21T10:00:00Z", "2026-11-20", "2026-11-21T09:30:00Z", null },
        { "2026-11-21T10:00:00Z", "2026-11-22", "2026-11-21T09:30:00Z", null },   // handled day ahead of the clock
        { "2026-11-21T10:00:00Z", "2026-11-17", null, "2026-11-20" },             // down for days: only the latest closed day
        { "2026-11-21T01:30:00+02:00", null, null, "2026-11-19" },                // 2026-11-20T23:30Z: the UTC date counts
    };

    [Theory]
    [MemberData(nameof(DueDays))]
    public void DueDay_follows_the_table(string now, string? lastHandled, string? lastDecided, string? due)
    {
        var result = DailyReport.DueDay(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture),
            lastHandled is null ? null : DateOnly.Parse(lastHandled, System.Globalization.CultureInfo.InvariantCulture),
            lastDecided is null ? null : DateTimeOffset.Parse(lastDecided, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(due is null ? null : DateOnly.Parse(due, System.Globalization.CultureInfo.InvariantCulture), result);
    }

    [Fact]
    public void A_tick_every_5_minutes_reports_each_day_once_when_its_last_window_is_decided()
    {
        DateOnly? handled = new DateOnly(2026, 11, 18);
        var reported = new List<(DateOnly Day, DateTimeOffset At)>();
        var end = new DateTimeOffset(2026, 11, 22, 3, 0, 0, TimeSpan.Zero);
        for (var now = new DateTimeOffset(2026, 11, 19, 22, 0, 0, TimeSpan.Zero); now < end; now = now.AddMinutes(5))
        {
            var lastDecided = TimeWindow.LastClosedAt(now.AddMinutes(-10)).Start; // a decision lands ~10 min after its window closes
            if (DailyReport.DueDay(now, handled, lastDecided) is not { } day) continue;
            reported.Add((day, now));
            handled = day;
        }

        Assert.Equal(
            [(new DateOnly(2026, 11, 19), new DateTimeOffset(2026, 11, 20, 0, 10, 0, TimeSpan.Zero)),
             (new DateOnly(2026, 11, 20), new DateTimeOffset(2026, 11, 21, 0, 10, 0, TimeSpan.Zero)),
             (new DateOnly(2026, 11, 21), new DateTimeOffset(2026, 11, 22, 0, 10, 0, TimeSpan.Zero))],
            reported);
    }

    [Fact]
    public void Phase_C_in_effect_comes_from_judged_windows_or_the_rollout_state()
    {
        var none = DailyReport.Build(Day, "autosave", [Decision(Midnight, 0, "B", "ok", 0.5, 0.5)], [], []);
        var some = DailyReport.Build(Day, "autosave", [C(90, "ok", 0.5)], [], []);
        RolloutState State(string phase, DateTimeOffset? since) => StoredStates.Make(phase, phaseSince: since);

        Assert.True(some.PhaseCInEffect(null));
        Assert.False(none.PhaseCInEffect(null));
        Assert.False(none.PhaseCInEffect(State("B", Midnight.AddHours(-30))));
        Assert.True(none.PhaseCInEffect(State("C", Midnight.AddHours(23.9))));   // C since late that day, every window missing
        Assert.True(none.PhaseCInEffect(State("C", null)));                     // state from before the lifecycle: since ever
        Assert.False(none.PhaseCInEffect(State("C", Midnight.AddDays(1))));     // promoted to C at the next midnight
    }
}
