using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Policy;

namespace AutoSaveRollout.Tests.Gates;

public class SloGateTests
{
    private static readonly RolloutPolicy Policy = PolicyLoader.Parse("""
        rollout:
          phases:
            A: {slo: {save_p95_s: 2.5, error_rate_pct: 1.0, history_drift: 0, collector_latency_s: 180}}
            B: {slo: {save_p95_s: 2.0, error_rate_pct: 0.5, history_drift: 0, collector_latency_s: 120}}
            C: {slo: {save_p95_s: 1.8, error_rate_pct: 0.3, history_drift: 0, collector_latency_s: 120}}
        """, "policy.yaml");

    private static Measurements M(double? p95 = 1.0, double? err = 0.1, double drift = 0, double latency = 0, long completed = 1000, long errors = 1) =>
        new(completed, errors, p95, err, drift, latency);

    private static GateStatus? StatusOf(GateResult r, string metric) => r.Metrics.Single(m => m.Name == metric).Status;

    [Theory]
    [InlineData(2.5000001, GateStatus.Violation)]
    [InlineData(2.5, GateStatus.Warn)]       // equal to the threshold is not a violation
    [InlineData(2.0, GateStatus.Warn)]       // 0.8 × 2.5 = 2.0 starts the warn band
    [InlineData(1.9999999, GateStatus.Ok)]
    public void P95_bands_in_phase_A(double p95, GateStatus expected)
    {
        var r = SloGate.Evaluate(M(p95: p95), Phase.A, Policy);
        Assert.Equal(expected, StatusOf(r, MetricNames.P95));
        Assert.Equal(expected, r.Status);
        Assert.Equal(expected == GateStatus.Violation, r.RollbackRequired);
    }

    [Fact]
    public void Thresholds_follow_the_phase()
    {
        var r = SloGate.Evaluate(M(p95: 1.9, err: 0.31), Phase.C, Policy);
        Assert.Equal(GateStatus.Violation, StatusOf(r, MetricNames.P95));
        Assert.Equal(GateStatus.Violation, StatusOf(r, MetricNames.ErrorRate));
        Assert.Equal(["p95_s", "error_rate_pct"], r.Violations);
        var m = r.Metrics.Single(x => x.Name == MetricNames.P95);
        Assert.Equal(1.8, m.Threshold);
        Assert.Equal(0.8 * 1.8, m.WarnAt);
    }

    [Fact]
    public void Drift_never_warns_and_any_drift_above_zero_violates()
    {
        Assert.Equal(GateStatus.Ok, StatusOf(SloGate.Evaluate(M(drift: 0), Phase.B, Policy), MetricNames.HistoryDrift));
        Assert.Equal(GateStatus.Violation, StatusOf(SloGate.Evaluate(M(drift: 0.25), Phase.B, Policy), MetricNames.HistoryDrift));
        Assert.Null(SloGate.Evaluate(M(), Phase.B, Policy).Metrics.Single(x => x.Name == MetricNames.HistoryDrift).WarnAt);
    }

    [Fact]
    public void Collector_latency_gates_like_the_others()
    {
        Assert.Equal(GateStatus.Warn, SloGate.Evaluate(M(latency: 144), Phase.A, Policy).Status);
        Assert.Equal(GateStatus.Violation, SloGate.Evaluate(M(latency: 180.5), Phase.A, Policy).Status);
        Assert.Equal(GateStatus.Violation, SloGate.Evaluate(M(latency: 121), Phase.B, Policy).Status);
    }

    [Fact]
    public void Too_few_samples_make_p95_and_error_rate_inconclusive_but_drift_and_latency_still_gate()
    {
        var low = SloGate.Evaluate(M(p95: 9, err: 50, completed: 30, errors: 19), Phase.A, Policy);
        Assert.Equal(GateStatus.Inconclusive, StatusOf(low, MetricNames.P95));
        Assert.Equal(GateStatus.Inconclusive, StatusOf(low, MetricNames.ErrorRate));
        Assert.Equal(GateStatus.Inconclusive, low.Status);
        Assert.Equal(9, low.Metrics.Single(x => x.Name == MetricNames.P95).Value); // value still reported

        var lowWithDrift = SloGate.Evaluate(M(completed: 30, errors: 19, drift: 1), Phase.A, Policy);
        Assert.Equal(GateStatus.Violation, lowWithDrift.Status);

        var enough = SloGate.Evaluate(M(p95: 1, err: 0, completed: 50, errors: 0), Phase.A, Policy);
        Assert.Equal(GateStatus.Ok, enough.Status);
    }

    [Fact]
    public void No_completed_save_makes_p95_inconclusive_even_with_enough_errors()
    {
        var r = SloGate.Evaluate(M(p95: null, err: 100, completed: 0, errors: 80), Phase.A, Policy);
        Assert.Equal(GateStatus.Inconclusive, StatusOf(r, MetricNames.P95));
        Assert.Equal(GateStatus.Violation, StatusOf(r, MetricNames.ErrorRate));
        Assert.Equal(GateStatus.Violation, r.Status);
    }

    [Fact]
    public void Warn_outranks_inconclusive()
    {
        var r = SloGate.Evaluate(M(completed: 10, errors: 0, latency: 150), Phase.A, Policy);
        Assert.Equal(GateStatus.Warn, r.Status);
    }

    [Fact]
    public void Phase_off_is_recorded_without_gates()
    {
        var r = SloGate.Evaluate(M(p95: 99, drift: 3), Phase.Off, Policy);
        Assert.Equal(GateStatus.Off, r.Status);
        Assert.False(r.RollbackRequired);
        Assert.All(r.Metrics, m => { Assert.Null(m.Status); Assert.Null(m.Threshold); });
        Assert.Equal(99, r.Metrics.Single(x => x.Name == MetricNames.P95).Value);
    }

    [Fact]
    public void Phases_step_back_one_at_a_time()
    {
        Assert.Equal(Phase.B, Phase.C.StepBack());
        Assert.Equal(Phase.A, Phase.B.StepBack());
        Assert.Equal(Phase.Off, Phase.A.StepBack());
        Assert.Equal(Phase.Off, Phase.Off.StepBack());
    }
}
