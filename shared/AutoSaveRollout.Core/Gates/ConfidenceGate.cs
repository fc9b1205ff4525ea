using AutoSaveRollout.Core.Policy;

namespace AutoSaveRollout.Core.Gates;

/// <summary>
/// The statistical SLO gate (<c>rollout.gate.mode: confidence</c>, issue 11). With α = 1 − confidence and the phase's
/// thresholds T, P95 and error rate are judged by one-sided exact binomial tests (<see cref="BinomialTail"/>):
/// <list type="bullet">
/// <item>error rate: n = completed + errors, x = errors, p0 = T / 100, p = P(X ≥ x | Binomial(n, p0));</item>
/// <item>P95: n = completed, k = durations strictly greater than T seconds, p0 = 0.05, p = P(K ≥ k | Binomial(n, 0.05))
/// (the distribution-free order-statistic test of "P95 &gt; T").</item>
/// </list>
/// Each test runs on three look-backs inside the current phase segment, on pooled counts: the window (15m), the last 4
/// windows (1h) and the last 24 windows (6h), each at α/3 (Bonferroni). A look-back with fewer than <c>min_samples</c>
/// saves (completed + errors) is not tested. A metric is a <c>violation</c> when some tested look-back has an observed
/// share above p0 and p &lt; α/3; otherwise the window's own point estimate decides as in point mode, except that a value
/// above T is a <c>warn</c> with reason <c>not_significant</c>. Drift and collector latency are gated as in point mode.
/// </summary>
public static class ConfidenceGate
{
    /// <summary>The look-backs: name and number of windows (the current one included).</summary>
    public static readonly IReadOnlyList<(string Name, int Windows)> LookBacks = [("15m", 1), ("1h", 4), ("6h", 24)];

    /// <summary>Windows the longest look-back spans (24).</summary>
    public static int MaxWindows => LookBacks[^1].Windows;

    /// <summary>p0 of the P95 test: the share of saves above a 95th percentile.</summary>
    public const double P95Share = 0.05;

    /// <summary>Reason of a <c>warn</c> whose point estimate is above the threshold without a significant test.</summary>
    public const string NotSignificant = "not_significant";

    /// <summary>
    /// Evaluates a window. <paramref name="current"/> holds its counts at the phase's thresholds; <paramref name="previous"/>
    /// the counts of earlier windows of the same phase segment, most recent first (at most <see cref="MaxWindows"/> − 1 are
    /// used). Returns the gate result (same shape as <see cref="SloGate.Evaluate"/>) and the evidence to store; the evidence
    /// is null in phase off.
    /// </summary>
    public static (GateResult Result, GateEvidence? Evidence) Evaluate(Measurements m, WindowCounts current,
        IReadOnlyList<WindowCounts> previous, Phase phase, RolloutPolicy policy)
    {
        var point = SloGate.Evaluate(m, phase, policy);
        if (phase == Phase.Off) return (point, null);

        var slo = policy.For(phase).Slo;
        var alpha3 = policy.Gate.Alpha / 3;
        var enough = m.Completed + m.Errors >= policy.MinSamples;

        var errTests = Tests(current, previous, policy.MinSamples, alpha3, slo.ErrorRatePct / 100, c => c.Saves, c => c.Errors);
        var p95Tests = Tests(current, previous, policy.MinSamples, alpha3, P95Share, c => c.Completed, c => c.OverP95);
        var (errResult, errEvidence) = Judge(MetricNames.ErrorRate, m.ErrorRatePct, slo.ErrorRatePct, policy.WarnRatio,
            enough && m.ErrorRatePct is not null, slo.ErrorRatePct / 100, errTests);
        var (p95Result, p95Evidence) = Judge(MetricNames.P95, m.P95Seconds, slo.SaveP95Seconds, policy.WarnRatio,
            enough && m.P95Seconds is not null, P95Share, p95Tests);

        var metrics = point.Metrics.Select(x => x.Name switch
        {
            MetricNames.P95 => p95Result,
            MetricNames.ErrorRate => errResult,
            _ => x,
        }).ToList();
        var status =
            metrics.Any(x => x.Status == GateStatus.Violation) ? GateStatus.Violation :
            metrics.Any(x => x.Status == GateStatus.Warn) ? GateStatus.Warn :
            metrics.Any(x => x.Status == GateStatus.Inconclusive) ? GateStatus.Inconclusive :
            GateStatus.Ok;
        var evidence = new GateEvidence(GatePolicy.ConfidenceMode, policy.Gate.Confidence, current,
            new Dictionary<string, MetricEvidence> { [MetricNames.P95] = p95Evidence, [MetricNames.ErrorRate] = errEvidence });
        return (new GateResult(status, metrics), evidence);
    }

    private static List<LookBackTest> Tests(WindowCounts current, IReadOnlyList<WindowCounts> previous, int minSamples,
        double alpha3, double p0, Func<WindowCounts, long> trials, Func<WindowCounts, long> successes)
    {
        var tests = new List<LookBackTest>(LookBacks.Count);
        foreach (var (name, windows) in LookBacks)
        {
            var pooled = previous.Take(windows - 1).Prepend(current).ToList();
            long saves = pooled.Sum(c => c.Saves), n = pooled.Sum(trials), count = pooled.Sum(successes);
            var tested = saves >= minSamples && n > 0;
            double? p = tested ? BinomialTail.UpperTail(n, count, p0) : null;
            var significant = tested && count > p0 * n && p < alpha3;
            tests.Add(new LookBackTest(name, pooled.Count, saves, n, count, p, tested, significant));
        }
        return tests;
    }

    private static (MetricResult, MetricEvidence) Judge(string name, double? value, double threshold, double warnRatio,
        bool conclusive, double p0, List<LookBackTest> tests)
    {
        var warnAt = warnRatio * threshold;
        var decided = tests.Where(t => t.Significant).OrderBy(t => t.PValue).FirstOrDefault();
        GateStatus status;
        string? reason = null;
        if (decided is not null) status = GateStatus.Violation;
        else if (!conclusive || value is null) status = GateStatus.Inconclusive;
        else if (value.Value > threshold)
        {
            status = GateStatus.Warn;
            reason = NotSignificant;
        }
        else status = value.Value >= warnAt ? GateStatus.Warn : GateStatus.Ok;
        return (new MetricResult(name, value, threshold, warnAt, status), new MetricEvidence(p0, decided?.LookBack, reason, tests));
    }
}
