using System.Globalization;

namespace AutoSaveRollout.Core.Gates;

/// <summary>
/// The counts of one window that a later look-back pools (confidence mode, issue 11), taken at the phase's thresholds.
/// </summary>
/// <param name="Saves">n for the error-rate test: completed + errors.</param>
/// <param name="Errors">x: failed saves.</param>
/// <param name="Completed">n for the P95 test: completed saves.</param>
/// <param name="OverP95">k: completed saves whose duration is strictly greater than <paramref name="P95ThresholdS"/> seconds.</param>
/// <param name="P95ThresholdS">The phase's <c>save_p95_s</c> (seconds) <paramref name="OverP95"/> was counted against.</param>
/// <param name="ErrorRateThresholdPct">The phase's <c>error_rate_pct</c> (percent) in force for the window.</param>
public sealed record WindowCounts(long Saves, long Errors, long Completed, long OverP95, double P95ThresholdS, double ErrorRateThresholdPct);

/// <summary>One look-back's test of one metric.</summary>
/// <param name="LookBack">Its name: <c>15m</c> (the window), <c>1h</c> (4 windows) or <c>6h</c> (24 windows).</param>
/// <param name="Windows">Windows actually pooled (only windows that exist, in the current phase segment).</param>
/// <param name="Saves">Completed + errors pooled (compared with <c>min_samples</c>).</param>
/// <param name="N">Trials: completed + errors (error rate) or completed (P95).</param>
/// <param name="Count">Successes: errors (x) or completed saves above the P95 threshold (k).</param>
/// <param name="PValue">P(X ≥ count | Binomial(N, p0)); null when not tested.</param>
/// <param name="Tested">False when <paramref name="Saves"/> &lt; <c>min_samples</c> or <paramref name="N"/> = 0.</param>
/// <param name="Significant">True when count / N &gt; p0 and p &lt; α/3: a violation.</param>
public sealed record LookBackTest(string LookBack, int Windows, long Saves, long N, long Count, double? PValue, bool Tested, bool Significant);

/// <summary>The confidence-mode evidence of one sampled metric (P95 or error rate).</summary>
/// <param name="P0">Null-hypothesis share: threshold / 100 (error rate) or 0.05 (P95).</param>
/// <param name="DecidedBy">Look-back whose test decided a violation (the smallest significant p); null when none did.</param>
/// <param name="Reason"><c>not_significant</c> when the window's point estimate is above the threshold but no test is significant; else null.</param>
/// <param name="Tests">The three look-backs in order 15m, 1h, 6h.</param>
public sealed record MetricEvidence(double P0, string? DecidedBy, string? Reason, IReadOnlyList<LookBackTest> Tests)
{
    /// <summary>The test shown as evidence: the deciding one, else the tested one with the smallest p-value; null if none was tested.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public LookBackTest? Shown =>
        (DecidedBy is { } d ? Tests.FirstOrDefault(t => t.LookBack == d) : null)
        ?? Tests.Where(t => t.Tested).OrderBy(t => t.PValue).FirstOrDefault();

    /// <summary>E.g. <c>p=0.003 over 1h, 19/900</c>; <c>not tested</c> when no look-back had enough saves.</summary>
    public string Describe() => Shown is { } t
        ? string.Create(CultureInfo.InvariantCulture, $"p={FormatP(t.PValue!.Value)} over {t.LookBack}, {t.Count}/{t.N}")
        : "not tested";

    /// <summary>A p-value to 3 decimals (<c>0.003</c>, <c>0.41</c>, <c>1</c>), below 0.001 in exponent form (<c>4.2e-07</c>).</summary>
    public static string FormatP(double p) =>
        p >= 0.001 ? p.ToString("0.###", CultureInfo.InvariantCulture) : p.ToString("0.0e+00", CultureInfo.InvariantCulture);
}

/// <summary>
/// What a confidence-mode decision stores (<c>gate</c> in a decision record): the mode and level, the window's own
/// counts (for later look-backs) and the per-metric tests. Absent (null) in point mode.
/// </summary>
/// <param name="Mode">Always <c>confidence</c>.</param>
/// <param name="Confidence">1 − α.</param>
/// <param name="Counts">This window's counts at the phase's thresholds.</param>
/// <param name="Metrics">Evidence for <c>p95_s</c> and <c>error_rate_pct</c>.</param>
public sealed record GateEvidence(string Mode, double Confidence, WindowCounts Counts, IReadOnlyDictionary<string, MetricEvidence> Metrics)
{
    /// <summary>
    /// One line for messages and the dashboard, e.g. <c>error_rate_pct p=0.003 over 1h, 19/900; p95_s p=0.41 over 15m, 12/224</c>;
    /// a violated metric first.
    /// </summary>
    public string Summary() => string.Join("; ", Metrics
        .OrderBy(kv => kv.Value.DecidedBy is null ? 1 : 0)
        .ThenBy(kv => MetricNames.All.ToList().IndexOf(kv.Key))
        .Select(kv => $"{kv.Key} {kv.Value.Describe()}"));
}

/// <summary>The <c>{evidence}</c> template placeholder (issue 11).</summary>
public static class GateEvidenceText
{
    /// <summary>
    /// Empty in point mode (so point-mode messages are unchanged), else <c>" / "</c> + <see cref="GateEvidence.Summary"/>:
    /// templates append <c>{evidence}</c> directly after their last field.
    /// </summary>
    public static string Placeholder(GateEvidence? gate) => gate is null ? "" : " / " + gate.Summary();
}
