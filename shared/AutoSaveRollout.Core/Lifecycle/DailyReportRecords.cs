
namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// Status counts of the windows judged in phase C on one day.
/// </summary>
/// <param name="Ok">Windows with batch status <c>ok</c>.</param>
/// <param name="Warn">Windows with batch status <c>warn</c>.</param>
/// <param name="Violation">Windows with batch status <c>violation</c>.</param>
/// <param name="Inconclusive">Windows with batch status <c>inconclusive</c>.</param>
/// <param name="Other">Any other status (<c>off</c> cannot occur in phase C; counted here, as is an unknown status).</param>
public sealed record DailyStatusCounts(int Ok, int Warn, int Violation, int Inconclusive, int Other);

/// <summary>
/// One SLI (P95 in seconds, or error rate in percent) over the phase C windows of a day. Only values the SLO gate judged
/// count: a metric whose own status is <c>inconclusive</c> (fewer than <c>min_samples</c> events) is left out, as is a
/// null value. Values are unrounded.
/// </summary>
public sealed record DailyMetricSummary
{
    /// <summary>Phase C windows of the day that contributed a value.</summary>
    public required int Windows { get; init; }
    /// <summary>Median of the day's values (mean of the two middle values for an even count); null without values.</summary>
    public required double? Median { get; init; }
    /// <summary>Largest of the day's values; null without values.</summary>
    public required double? Max { get; init; }
    /// <summary>Phase C windows of the previous UTC day that contributed a value.</summary>
    public required int PreviousWindows { get; init; }
    /// <summary>Median of the previous UTC day's values (same rules); null without values.</summary>
    public required double? PreviousMedian { get; init; }
    /// <summary>
    /// Relative change of <see cref="Median"/> against <see cref="PreviousMedian"/>, in PERCENT of the previous median
    /// ((median − previous) / previous × 100, unrounded). Null when either median is null, or when the previous median is 0
    /// and the median is not (an increase from zero has no relative size; <see cref="Trend"/> is <c>up</c> then).
    /// </summary>
    public required double? ChangePct { get; init; }
    /// <summary>
    /// <c>up</c>, <c>down</c> or <c>flat</c>: the sign of <see cref="ChangePct"/> once rounded to one decimal as displayed
    /// (so |change| &lt; 0.05 % is <c>flat</c>); <c>up</c> from a previous median of 0. Null when either median is null.
    /// </summary>
    public required string? Trend { get; init; }
    /// <summary>Median per UTC hour (index 0 = 00:00–01:00), always 24 entries; null for an hour without values.</summary>
    public required IReadOnlyList<double?> HourlyMedians { get; init; }
}
