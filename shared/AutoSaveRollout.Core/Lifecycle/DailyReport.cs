using System.Globalization;
using System.Text.Json;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// The phase C daily report for Governance (issue "Phase C: a daily report to channels.ok", design section 1), written as
/// JSON to <see cref="StorePaths.DailyReport"/> and posted as <c>autosave-daily</c> to <c>channels.ok</c>. It covers one UTC
/// day (96 windows of 15 minutes); only windows judged in phase C count towards statuses, compliance and the SLIs.
/// Every window of the day is exactly one of: judged in C, judged in another phase, or missing
/// (<see cref="WindowsJudged"/> + <see cref="WindowsOtherPhase"/> + <see cref="WindowsMissing"/> = 96).
/// The content is a pure function of the decisions and incident ids, so rebuilding a day gives the same report.
/// </summary>
public sealed record DailyReport
{
    /// <summary>15-minute windows in a UTC day.</summary>
    public const int WindowsPerDay = 96;

    /// <summary>
    /// How long after the end of a UTC day its report waits for the day's last window (23:45–00:00) to be decided before it
    /// is built anyway, with whatever is still undecided counted as missing: 1 hour.
    /// </summary>
    public static readonly TimeSpan SettleTime = TimeSpan.FromHours(1);

    /// <summary>Incident ids named in the message; more are summarised as <c>+N more</c> (all are in the JSON).</summary>
    public const int IncidentIdsInMessage = 5;

    /// <summary>The UTC day reported (JSON <c>yyyy-MM-dd</c>).</summary>
    public required DateOnly Date { get; init; }
    /// <summary>Feature flag.</summary>
    public required string Flag { get; init; }
    /// <summary>Windows in the day: always <see cref="WindowsPerDay"/> (96).</summary>
    public required int WindowsExpected { get; init; }
    /// <summary>Windows of the day with a decision judged in phase C.</summary>
    public required int WindowsJudged { get; init; }
    /// <summary>Windows of the day with a decision judged in another phase (a day on which C began or was stepped back from).</summary>
    public required int WindowsOtherPhase { get; init; }
    /// <summary>Windows of the day without a readable decision (not collected, not yet decided, or unreadable).</summary>
    public required int WindowsMissing { get; init; }
    /// <summary>Status counts of the windows judged in C.</summary>
    public required DailyStatusCounts Statuses { get; init; }
    /// <summary>Compliant windows judged in C: <c>ok</c> + <c>warn</c>.</summary>
    public required int CompliantWindows { get; init; }
    /// <summary>Conclusive windows judged in C: <c>ok</c> + <c>warn</c> + <c>violation</c> (inconclusive and other left out).</summary>
    public required int ConclusiveWindows { get; init; }
    /// <summary>
    /// <see cref="CompliantWindows"/> / <see cref="ConclusiveWindows"/> × 100, in PERCENT, unrounded. Null when there is no
    /// conclusive window: no evidence either way, so neither 100 % (overstating) nor 0 % (a false alarm) is claimed.
    /// </summary>
    public required double? CompliancePct { get; init; }
    /// <summary>Incidents of the day: the number of <see cref="IncidentIds"/>.</summary>
    public required int Incidents { get; init; }
    /// <summary>Ids of the day's incidents as the caller gave them (blank ones dropped, duplicates once, order kept).</summary>
    public required IReadOnlyList<string> IncidentIds { get; init; }
    /// <summary>P95 save latency in SECONDS over the day's C windows (<c>p95_s</c> of each decision).</summary>
    public required DailyMetricSummary P95Seconds { get; init; }
    /// <summary>Error rate in PERCENT over the day's C windows (<c>error_rate_pct</c> of each decision).</summary>
    public required DailyMetricSummary ErrorRatePct { get; init; }
    /// <summary>
    /// Blob paths of decisions of the day or of the previous day that could not be read as a decision of their window (bad
    /// JSON, missing fields, another window's record); each is counted as a missing window. Empty from <see cref="Build"/>.
    /// </summary>
    public IReadOnlyList<string> Unreadable { get; init; } = [];

    /// <summary>
    /// True when phase C was in effect at some time during <see cref="Date"/>, so the report is to be written and posted:
    /// a window of the day was judged in C, or <paramref name="state"/> (the rollout state now) has phase C in effect since
    /// before the day ended (<c>phase_since</c> before the end of the day, or unknown), which covers a day in C whose windows
    /// are all missing. False otherwise: a day entirely in A or B gets no report.
    /// </summary>
    public bool PhaseCInEffect(RolloutState? state) =>
        WindowsJudged > 0
        || (state is { Phase: "C" } && (state.PhaseSince is not { } since || since < StartOf(Date.AddDays(1))));

    /// <summary>
    /// Builds the report of UTC day <paramref name="date"/> (pure). <paramref name="decisions"/> are the day's decisions
    /// and <paramref name="previousDay"/> those of the day before (for the SLI trend), in any order; only records judged in
    /// phase C (<c>phase</c> = <c>C</c>) count, records whose window start is not an aligned window of the respective day
    /// are ignored, and windows without a record are missing. <paramref name="incidentIds"/> are the day's incidents.
    /// Null fields (as a hand-edited blob may have) never throw: a null status counts as other, null metrics as no value.
    /// Throws <see cref="ArgumentException"/> when a list has two records of the same window.
    /// </summary>
    public static DailyReport Build(DateOnly date, string flag, IReadOnlyList<DecisionRecord> decisions,
        IReadOnlyList<DecisionRecord> previousDay, IReadOnlyList<string> incidentIds)
    {
        ArgumentNullException.ThrowIfNull(flag);
        ArgumentNullException.ThrowIfNull(decisions);
        ArgumentNullException.ThrowIfNull(previousDay);
        ArgumentNullException.ThrowIfNull(incidentIds);

        var today = ByWindow(date, decisions, nameof(decisions));
        var before = ByWindow(date.AddDays(-1), previousDay, nameof(previousDay));

        int judged = 0, other = 0, missing = 0, ok = 0, warn = 0, violation = 0, inconclusive = 0, otherStatus = 0;
        foreach (var d in today)
        {
            if (d is null) { missing++; continue; }
            if (!IsPhaseC(d)) { other++; continue; }
            judged++;
            switch (d.Status.Value)
            {
                case "ok": ok++; break;
                case "warn": warn++; break;
                case "violation": violation++; break;
                case "inconclusive": inconclusive++; break;
                default: otherStatus++; break;
            }
        }

        var compliant = ok + warn;
        var conclusive = ok + warn + violation;
        var ids = incidentIds.Where(i => !string.IsNullOrWhiteSpace(i)).Distinct(StringComparer.Ordinal).ToList();
        return new DailyReport
        {
            Date = date,
            Flag = flag,
            WindowsExpected = WindowsPerDay,
            WindowsJudged = judged,
            WindowsOtherPhase = other,
            WindowsMissing = missing,
            Statuses = new DailyStatusCounts(ok, warn, violation, inconclusive, otherStatus),
            CompliantWindows = compliant,
            ConclusiveWindows = conclusive,
            CompliancePct = conclusive == 0 ? null : compliant * 100.0 / conclusive,
            Incidents = ids.Count,
            IncidentIds = ids,
            P95Seconds = Summarise(today, before, MetricNames.P95),
            ErrorRatePct = Summarise(today, before, MetricNames.ErrorRate),
        };
    }

    /// <summary>
    /// Placeholder values of <c>autosave-daily</c>, numbers rounded half away from zero (<see cref="ReportPlanner.FormatNumber"/>):
    /// <c>date</c> (<c>yyyy-MM-dd</c>, UTC);
    /// <c>windows</c> (<c>92/96 (ok 88, warn 3, violation 1, inconclusive 0; other phase 0, missing 4)</c>, with
    /// <c>, other status N</c> after inconclusive only when N &gt; 0);
    /// <c>compliance</c> (<c>98.9% (91/92 conclusive)</c>, or <c>n/a (0 conclusive)</c>);
    /// <c>incidents</c> (<c>0</c>, or <c>2 (ID1, ID2)</c>, at most <see cref="IncidentIdsInMessage"/> ids then <c>+N more</c>);
    /// <c>p95_trend</c> and <c>err_trend</c>: the day's median and its change against the previous day's median, e.g.
    /// <c>0.812s (↑3.1% vs 0.788s)</c>, <c>0.42% (↓10.6% vs 0.47%)</c>, <c>0.788s (→0.0% vs 0.788s)</c>,
    /// <c>0.50% (↑ vs 0.00%)</c> from zero, <c>0.812s (trend n/a)</c> without a previous median, <c>n/a</c> without values;
    /// <c>p95_max</c> and <c>err_max</c>: the day's maximum (<c>1.204s</c>, <c>1.10%</c>, or <c>n/a</c>).
    /// P95 has 3 decimals, error rate 2, percentages of change and compliance 1.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> TemplateValues(DailyReport r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var s = r.Statuses;
        var otherStatus = s.Other > 0 ? $", other status {s.Other}" : "";
        var ids = r.IncidentIds.Take(IncidentIdsInMessage).ToList();
        if (r.IncidentIds.Count > ids.Count) ids.Add($"+{r.IncidentIds.Count - ids.Count} more");
        return new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["date"] = r.Date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ["windows"] = $"{r.WindowsJudged}/{r.WindowsExpected} (ok {s.Ok}, warn {s.Warn}, violation {s.Violation}, " +
                $"inconclusive {s.Inconclusive}{otherStatus}; other phase {r.WindowsOtherPhase}, missing {r.WindowsMissing})",
            ["compliance"] = r.CompliancePct is { } c
                ? $"{ReportPlanner.FormatNumber(c, 1)}% ({r.CompliantWindows}/{r.ConclusiveWindows} conclusive)"
                : "n/a (0 conclusive)",
            ["incidents"] = r.Incidents == 0 ? "0" : $"{r.Incidents} ({string.Join(", ", ids)})",
            ["p95_trend"] = Trend(r.P95Seconds, 3, "s"),
            ["p95_max"] = Display(r.P95Seconds.Max, 3, "s"),
            ["err_trend"] = Trend(r.ErrorRatePct, 2, "%"),
            ["err_max"] = Display(r.ErrorRatePct.Max, 2, "%"),
        };
    }

    /// <summary>
    /// The UTC day whose report is due at <paramref name="now"/>, or null. Only the most recent closed UTC day (the day
    /// before <paramref name="now"/>'s UTC date) is ever due: if the caller was down for several days, the days in between
    /// are skipped, not caught up. It is due once it has settled (its last window, 23:45–00:00, has been decided, i.e.
    /// <paramref name="lastDecidedWindowStart"/> ≥ 23:45 of that day, or <see cref="SettleTime"/> has passed since midnight)
    /// and it is after <paramref name="lastHandled"/>. Whether phase C was in effect that day is answered by the data:
    /// load the day (<see cref="LoadAsync"/>), write and post it only when <see cref="PhaseCInEffect"/> holds, and in
    /// either case store the day as handled, so each day is considered once and reported at most once.
    /// Cheap and pure: meant to be called on every tick.
    /// </summary>
    /// <param name="now">Current time (any offset; the UTC date counts).</param>
    /// <param name="lastHandled">Last day already considered (reported or found not in C); null before the first.</param>
    /// <param name="lastDecidedWindowStart">Start of the latest decided window (<see cref="RolloutState.LastDecidedWindowStart"/>).</param>
    public static DateOnly? DueDay(DateTimeOffset now, DateOnly? lastHandled, DateTimeOffset? lastDecidedWindowStart)
    {
        var today = DateOnly.FromDateTime(now.UtcDateTime);
        var day = today.AddDays(-1);
        if (lastHandled is { } last && last >= day) return null;
        var midnight = StartOf(today);
        var settled = lastDecidedWindowStart is { } decided && decided >= midnight - TimeWindow.Length
            || now >= midnight + SettleTime;
        return settled ? day : null;
    }

    /// <summary>
    /// Reads the 96 decisions of <paramref name="date"/> and the 96 of the day before (<see cref="StorePaths.Decision"/>)
    /// and builds the report (<see cref="Build"/>). A missing blob is a missing window. A blob that is not a decision of its
    /// window (bad JSON, a null <c>phase</c>, <c>status</c> or <c>metrics</c>, or another window's start) is counted as
    /// missing and its path listed in <see cref="Unreadable"/> (report day first, each day in window order); bad content
    /// never throws. Blob store failures propagate (<see cref="StorageException"/>), as does cancellation: the caller
    /// retries on its next tick.
    /// </summary>
    public static async Task<DailyReport> LoadAsync(IBlobStore blobs, DateOnly date, string flag, IReadOnlyList<string> incidentIds,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        var unreadable = new List<string>();
        var today = await ReadDayAsync(blobs, date, unreadable, cancellationToken).ConfigureAwait(false);
        var before = await ReadDayAsync(blobs, date.AddDays(-1), unreadable, cancellationToken).ConfigureAwait(false);
        return Build(date, flag, today, before, incidentIds) with { Unreadable = unreadable };
    }

    /// <summary>Start of UTC day <paramref name="date"/> (00:00Z).</summary>
    public static DateTimeOffset StartOf(DateOnly date) => new(date.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));

    private static bool IsPhaseC(DecisionRecord d) => d.Phase == "C";

    // The day's 96 windows in order, null where no record; records outside the day or misaligned are ignored.
    private static DecisionRecord?[] ByWindow(DateOnly date, IReadOnlyList<DecisionRecord> records, string parameter)
    {
        var slots = new DecisionRecord?[WindowsPerDay];
        var start = StartOf(date);
        foreach (var d in records)
        {
            if (d is null) continue;
            var offset = d.WindowStart.UtcTicks - start.UtcTicks;
            if (offset < 0 || offset % TimeWindow.Length.Ticks != 0) continue;
            var index = offset / TimeWindow.Length.Ticks;
            if (index >= WindowsPerDay) continue;
            if (slots[index] is not null)
                throw new ArgumentException($"two decisions of window {TimeWindow.StartingAt(d.WindowStart)}", parameter);
            slots[index] = d;
        }
        return slots;
    }

    // The judged value of a metric in a C window: null when absent, null-valued or judged inconclusive.
    private static double? JudgedValue(DecisionRecord? d, string metric)
    {
        if (d is null || !IsPhaseC(d) || d.Metrics is null) return null;
        if (!d.Metrics.TryGetValue(metric, out var m) || m is null || m.Status == DecisionStatus.Inconclusive) return null;
        return m.Value is { } v && double.IsFinite(v) ? v : null;
    }

    private static DailyMetricSummary Summarise(DecisionRecord?[] today, DecisionRecord?[] before, string metric)
    {
        var values = today.Select(d => JudgedValue(d, metric)).ToArray();
        var day = values.OfType<double>().ToList();
        var previous = before.Select(d => JudgedValue(d, metric)).OfType<double>().ToList();
        var median = Median(day);
        var previousMedian = Median(previous);

        double? change = null;
        string? trend = null;
        if (median is { } m && previousMedian is { } p)
        {
            if (p != 0) change = (m - p) / p * 100;
            else if (m == 0) change = 0;
            var shown = change is { } c ? Math.Round(c, 1, MidpointRounding.AwayFromZero) : m - p;
            trend = shown > 0 ? "up" : shown < 0 ? "down" : "flat";
        }

        var perHour = TimeSpan.FromHours(1).Ticks / TimeWindow.Length.Ticks;
        var hourly = new double?[24];
        for (var h = 0; h < 24; h++)
            hourly[h] = Median(values.Skip((int)(h * perHour)).Take((int)perHour).OfType<double>().ToList());

        return new DailyMetricSummary
        {
            Windows = day.Count,
            Median = median,
            Max = day.Count > 0 ? day.Max() : null,
            PreviousWindows = previous.Count,
            PreviousMedian = previousMedian,
            ChangePct = change,
            Trend = trend,
            HourlyMedians = hourly,
        };
    }

    /// <summary>Median of <paramref name="values"/>: the middle value, or the mean of the two middle values; null when empty.</summary>
    public static double? Median(IReadOnlyCollection<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0) return null;
        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Display(double? value, int decimals, string unit) =>
        value is null ? "n/a" : ReportPlanner.FormatNumber(value, decimals) + unit;

    private static string Trend(DailyMetricSummary s, int decimals, string unit)
    {
        if (s.Median is not { } median) return "n/a";
        var today = Display(median, decimals, unit);
        if (s.Trend is null || s.PreviousMedian is not { } previous) return today + " (trend n/a)";
        var arrow = s.Trend switch { "up" => "↑", "down" => "↓", _ => "→" };
        var size = s.ChangePct is { } c ? ReportPlanner.FormatNumber(Math.Abs(c), 1) + "%" : "";
        return $"{today} ({arrow}{size} vs {Display(previous, decimals, unit)})";
    }

    private static async Task<List<DecisionRecord>> ReadDayAsync(IBlobStore blobs, DateOnly date, List<string> unreadable, CancellationToken ct)
    {
        var first = TimeWindow.StartingAt(StartOf(date));
        var windows = TimeWindow.Range(first, TimeWindow.StartingAt(first.Start + TimeWindow.Length * (WindowsPerDay - 1))).ToArray();
        var records = new DecisionRecord?[windows.Length];
        var bad = new bool[windows.Length];
        // Bounded parallel reads (192 sequential round trips to Azure would take seconds); results land in window order.
        await Parallel.ForEachAsync(Enumerable.Range(0, windows.Length),
            new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
            async (i, token) =>
            {
                var blob = await blobs.TryGetAsync(StorePaths.Decision(windows[i]), token).ConfigureAwait(false);
                if (blob is null) return;
                var d = TryParse(blob.Content, windows[i]);
                if (d is null) bad[i] = true;
                else records[i] = d;
            }).ConfigureAwait(false);
        for (var i = 0; i < windows.Length; i++)
            if (bad[i]) unreadable.Add(StorePaths.Decision(windows[i]));
        return records.OfType<DecisionRecord>().ToList();
    }

    // A decision of exactly this window, or null when the content is not one.
    private static DecisionRecord? TryParse(byte[] content, TimeWindow window)
    {
        DecisionRecord d;
        try
        {
            d = Json.FromBytes<DecisionRecord>(content);
        }
        catch (JsonException)
        {
            return null;
        }
        catch (NotSupportedException)
        {
            return null;
        }
        if (d.Phase is null || d.Status.Value is null || d.Metrics is null || d.WindowStart.UtcTicks != window.Start.UtcTicks) return null;
        return d;
    }
}
