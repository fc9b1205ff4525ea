using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Policy;

namespace AutoSaveRollout.Tests.Gates;

public sealed class ConfidenceGateTests
{
    // Phase A: error_rate_pct 1 (p0 = 0.01), save_p95_s 2.5 (p0 = 0.05); confidence 0.95, so each look-back tests at 0.05/3.
    private static RolloutPolicy Policy(string gate = "{mode: confidence, confidence: 0.95}") => PolicyLoader.Parse($$$"""
        rollout:
          gate: {{{gate}}}
          phases:
            A: {slo: {save_p95_s: 2.5, error_rate_pct: 1.0, history_drift: 0, collector_latency_s: 180}}
            B: {slo: {save_p95_s: 2.0, error_rate_pct: 0.5, history_drift: 0, collector_latency_s: 120}}
            C: {slo: {save_p95_s: 1.8, error_rate_pct: 0.3, history_drift: 0, collector_latency_s: 120}}
        """, "policy.yaml");

    // A window of `saves` attempts with `errors` errors and `over` completed saves slower than 2.5 s.
    private static WindowCounts W(long saves, long errors, long over = 0) => new(saves, errors, saves - errors, over, 2.5, 1.0);

    private static Measurements M(WindowCounts c, double? p95 = 1.4) =>
        new(c.Completed, c.Errors, c.Completed == 0 ? null : p95, c.Saves == 0 ? null : 100.0 * c.Errors / c.Saves, 0, 0);

    private static (GateResult R, GateEvidence E) Eval(WindowCounts current, WindowCounts[]? previous = null, double? p95 = 1.4, RolloutPolicy? policy = null)
    {
        var (r, e) = ConfidenceGate.Evaluate(M(current, p95), current, previous ?? [], Phase.A, policy ?? Policy());
        return (r, e!);
    }

    private static MetricResult Metric(GateResult r, string name) => r.Metrics.Single(m => m.Name == name);

    [Fact]
    public void Significant_excess_in_the_window_alone_is_a_violation_decided_by_15m()
    {
        // 7/225: p = P(X >= 7 | Bin(225, 0.01)) = 0.0080179594578773 < 0.05/3 (mpmath).
        var (r, e) = Eval(W(225, 7));
        Assert.Equal(GateStatus.Violation, r.Status);
        Assert.Equal(["error_rate_pct"], r.Violations);
        var ev = e.Metrics[MetricNames.ErrorRate];
        Assert.Equal("15m", ev.DecidedBy);
        var t = ev.Tests[0];
        Assert.Equal(("15m", 1, 225L, 7L, true, true), (t.LookBack, t.Windows, t.N, t.Count, t.Tested, t.Significant));
        Assert.Equal(0.0080179594578773031, t.PValue!.Value, 1e-12);
        Assert.Equal("p=0.008 over 15m, 7/225", ev.Describe());
        Assert.Equal(0.01, ev.P0);
        Assert.Equal(W(225, 7), e.Counts);
    }

    [Fact]
    public void Noise_above_the_threshold_is_a_warn_not_significant()
    {
        // 3/225 = 1.33 % > 1 %: a point-mode violation; p = 0.39099469512458 (mpmath) is far from significant.
        var (r, e) = Eval(W(225, 3));
        Assert.Equal(GateStatus.Warn, r.Status);
        Assert.False(r.RollbackRequired);
        var ev = e.Metrics[MetricNames.ErrorRate];
        Assert.Null(ev.DecidedBy);
        Assert.Equal(ConfidenceGate.NotSignificant, ev.Reason);
        Assert.Equal(0.39099469512458344, ev.Tests[0].PValue!.Value, 1e-12);
        Assert.Equal(GateStatus.Warn, Metric(r, MetricNames.ErrorRate).Status);
        // point mode on the same window rolls back
        Assert.Equal(GateStatus.Violation, SloGate.Evaluate(M(W(225, 3)), Phase.A, Policy()).Status);
    }

    [Fact]
    public void A_sustained_excess_is_caught_by_the_pooled_hour()
    {
        // Each window 5/225 (p = 0.077, not significant alone); the hour pools 20/900: p = 0.00098873166750481 (mpmath).
        var previous = new[] { W(225, 5), W(225, 5), W(225, 5) };
        var (r, e) = Eval(W(225, 5), previous);
        Assert.Equal(GateStatus.Violation, r.Status);
        var ev = e.Metrics[MetricNames.ErrorRate];
        Assert.Equal("1h", ev.DecidedBy);
        Assert.False(ev.Tests[0].Significant);
        Assert.Equal(0.077022897926064831, ev.Tests[0].PValue!.Value, 1e-12);
        Assert.Equal((4, 900L, 20L), (ev.Tests[1].Windows, ev.Tests[1].N, ev.Tests[1].Count));
        Assert.Equal(0.00098873166750481162, ev.Tests[1].PValue!.Value, 1e-13);
        // only four windows exist: the 6h look-back pools the same four
        Assert.Equal((4, 900L, 20L), (ev.Tests[2].Windows, ev.Tests[2].N, ev.Tests[2].Count));
        Assert.Equal("p=9.9e-04 over 1h, 20/900", ev.Describe());
    }

    [Fact]
    public void The_six_hour_look_back_pools_at_most_24_windows()
    {
        var previous = Enumerable.Repeat(W(225, 0), 30).ToArray();
        var (_, e) = Eval(W(225, 1), previous);
        var six = e.Metrics[MetricNames.ErrorRate].Tests[2];
        Assert.Equal(("6h", 24, 24 * 225L, 1L), (six.LookBack, six.Windows, six.N, six.Count));
    }

    [Fact]
    public void Min_samples_applies_per_look_back()
    {
        // The window has 40 saves (< min_samples 50): not tested, and inconclusive on its own; the hour has 160 saves
        // with 10 errors: p = 5.8277539866484955e-6 (mpmath) -> violation.
        var previous = new[] { W(40, 0), W(40, 0), W(40, 0) };
        var (r, e) = Eval(W(40, 10), previous);
        var ev = e.Metrics[MetricNames.ErrorRate];
        Assert.False(ev.Tests[0].Tested);
        Assert.Null(ev.Tests[0].PValue);
        Assert.Equal("1h", ev.DecidedBy);
        Assert.Equal(5.8277539866484955e-6, ev.Tests[1].PValue!.Value, 1e-15);
        Assert.Equal(GateStatus.Violation, r.Status);

        // without the history nothing is tested and the window is inconclusive, as in point mode
        var (alone, e2) = Eval(W(40, 10));
        Assert.Equal(GateStatus.Inconclusive, Metric(alone, MetricNames.ErrorRate).Status);
        Assert.Equal("not tested", e2.Metrics[MetricNames.ErrorRate].Describe());
    }

    [Fact]
    public void P95_is_tested_on_the_share_of_saves_slower_than_the_threshold()
    {
        // 25 of 225 completed saves slower than 2.5 s: p = P(K >= 25 | Bin(225, 0.05)) = 1.776536325868239e-4 (mpmath).
        var (r, e) = Eval(W(225, 0, over: 25), p95: 2.7);
        Assert.Equal(GateStatus.Violation, Metric(r, MetricNames.P95).Status);
        var ev = e.Metrics[MetricNames.P95];
        Assert.Equal(0.05, ev.P0);
        Assert.Equal((225L, 25L), (ev.Tests[0].N, ev.Tests[0].Count));
        Assert.Equal(1.776536325868239e-4, ev.Tests[0].PValue!.Value, 1e-15);

        // 12 of 225 above (5.3 %), window P95 2.6 s > 2.5: p = 0.45129733931012194 -> warn, not significant
        var (r2, e2) = Eval(W(225, 0, over: 12), p95: 2.6);
        Assert.Equal(GateStatus.Warn, Metric(r2, MetricNames.P95).Status);
        Assert.Equal(ConfidenceGate.NotSignificant, e2.Metrics[MetricNames.P95].Reason);
        Assert.Equal(0.45129733931012194, e2.Metrics[MetricNames.P95].Tests[0].PValue!.Value, 1e-12);
    }

    [Fact]
    public void A_share_at_or_below_p0_is_never_a_violation_even_with_a_small_p()
    {
        // 0 errors: p = 1; equality share with huge n: p ~ 0.5
        var (r, _) = Eval(W(1_000_000, 10_000));
        Assert.NotEqual(GateStatus.Violation, Metric(r, MetricNames.ErrorRate).Status);
    }

    [Fact]
    public void Higher_confidence_needs_stronger_evidence()
    {
        // 7/225 (p = 0.0080) is significant at 0.95 (0.0167) but not at 0.99 (0.00333): warn, not significant
        var (r, e) = Eval(W(225, 7), policy: Policy("{mode: confidence, confidence: 0.99}"));
        Assert.Equal(GateStatus.Warn, r.Status);
        Assert.Equal(ConfidenceGate.NotSignificant, e.Metrics[MetricNames.ErrorRate].Reason);
    }

    [Fact]
    public void Warn_band_and_ok_follow_the_point_estimate_when_nothing_is_significant()
    {
        var (warn, _) = Eval(W(1000, 9));  // 0.9 % >= 0.8 x 1 %
        Assert.Equal(GateStatus.Warn, Metric(warn, MetricNames.ErrorRate).Status);
        var (ok, e) = Eval(W(1000, 2));
        Assert.Equal(GateStatus.Ok, ok.Status);
        Assert.Null(e.Metrics[MetricNames.ErrorRate].Reason);
    }

    [Fact]
    public void Drift_and_collector_latency_gate_as_in_point_mode()
    {
        var c = W(225, 0);
        var m = M(c) with { HistoryDrift = 0.25, CollectorLatencySeconds = 200 };
        var (r, _) = ConfidenceGate.Evaluate(m, c, [], Phase.A, Policy());
        Assert.Equal(["history_drift", "collector_latency_s"], r.Violations);
    }

    [Fact]
    public void Phase_off_is_not_gated_and_has_no_evidence()
    {
        var c = W(225, 100);
        var (r, e) = ConfidenceGate.Evaluate(M(c), c, [], Phase.Off, Policy());
        Assert.Equal(GateStatus.Off, r.Status);
        Assert.Null(e);
    }

    [Fact]
    public void Evidence_summary_lists_the_violated_metric_first()
    {
        var previous = new[] { W(225, 5), W(225, 5), W(225, 5) };
        var (_, e) = Eval(W(225, 5), previous);
        Assert.StartsWith("error_rate_pct p=9.9e-04 over 1h, 20/900; p95_s ", e.Summary());
        Assert.Equal(" / " + e.Summary(), GateEvidenceText.Placeholder(e));
        Assert.Equal("", GateEvidenceText.Placeholder(null));
    }
}
