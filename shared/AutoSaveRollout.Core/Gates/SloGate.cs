using AutoSaveRollout.Core.Policy;

namespace AutoSaveRollout.Core.Gates;

/// <summary>Status of one metric or of a whole batch. Wire names are lowercase (<c>ok</c>, <c>warn</c>, …).</summary>
public enum GateStatus
{
    /// <summary>Within the SLO and below the warn band.</summary>
    Ok,
    /// <summary>At or above <c>warn_ratio × threshold</c> but not above the threshold.</summary>
    Warn,
    /// <summary>Above the threshold: rollback required.</summary>
    Violation,
    /// <summary>Too few samples (or none) to judge.</summary>
    Inconclusive,
    /// <summary>Phase <c>off</c>: recorded, not gated.</summary>
    Off,
}

/// <summary>Wire names of <see cref="GateStatus"/>.</summary>
public static class GateStatusNames
{
    /// <summary><c>ok</c>, <c>warn</c>, <c>violation</c>, <c>inconclusive</c> or <c>off</c>.</summary>
    public static string ToWire(this GateStatus s) => s.ToString().ToLowerInvariant();

    /// <summary>Parses a wire name; throws <see cref="FormatException"/> otherwise.</summary>
    public static GateStatus Parse(string s) =>
        Enum.TryParse<GateStatus>(s, ignoreCase: true, out var v) ? v : throw new FormatException($"unknown status '{s}'");
}

/// <summary>Metric names as they appear in decisions, messages and <c>policy.yaml</c>-derived output.</summary>
public static class MetricNames
{
    /// <summary>P95 save latency, seconds.</summary>
    public const string P95 = "p95_s";
    /// <summary>Error rate, percent.</summary>
    public const string ErrorRate = "error_rate_pct";
    /// <summary>1-hour moving average of drift events per window.</summary>
    public const string HistoryDrift = "history_drift";
    /// <summary>Batch written time − window end, seconds.</summary>
    public const string CollectorLatency = "collector_latency_s";

    /// <summary>All gated metrics in report order.</summary>
    public static readonly IReadOnlyList<string> All = [P95, ErrorRate, HistoryDrift, CollectorLatency];
}

/// <summary>The SLIs measured for one window.</summary>
/// <param name="Completed">Completed saves (after dedup).</param>
/// <param name="Errors">Failed saves.</param>
/// <param name="P95Seconds">P95 save latency, seconds; null with no completed save.</param>
/// <param name="ErrorRatePct">Error rate, percent; null with no saves.</param>
/// <param name="HistoryDrift">Moving average of drift events per window.</param>
/// <param name="CollectorLatencySeconds">Collector latency, seconds.</param>
public sealed record Measurements(long Completed, long Errors, double? P95Seconds, double? ErrorRatePct, double HistoryDrift, double CollectorLatencySeconds);

/// <summary>One metric's gate result.</summary>
/// <param name="Name">Metric name (<see cref="MetricNames"/>).</param>
/// <param name="Value">Measured value (unrounded); null when undefined.</param>
/// <param name="Threshold">SLO threshold T of the phase; null in phase off.</param>
/// <param name="WarnAt">Start of the warn band, warn_ratio × T; null for drift and in phase off.</param>
/// <param name="Status">Gate status; null in phase off (not gated).</param>
public sealed record MetricResult(string Name, double? Value, double? Threshold, double? WarnAt, GateStatus? Status);

/// <summary>The gate outcome for a window.</summary>
/// <param name="Status">Batch status.</param>
/// <param name="Metrics">Per-metric results in <see cref="MetricNames.All"/> order.</param>
public sealed record GateResult(GateStatus Status, IReadOnlyList<MetricResult> Metrics)
{
    /// <summary>True when the batch status is <see cref="GateStatus.Violation"/>.</summary>
    public bool RollbackRequired => Status == GateStatus.Violation;

    /// <summary>Names of the violated metrics, in report order.</summary>
    public IReadOnlyList<string> Violations => Metrics.Where(m => m.Status == GateStatus.Violation).Select(m => m.Name).ToList();
}

/// <summary>
/// The per-phase SLO gate (issue "Collector → Analyzer → Reporter", Analyzer): for threshold T a metric is
/// <c>violation</c> if value &gt; T, else <c>warn</c> if value ≥ warn_ratio × T (never for drift), else <c>ok</c>.
/// If completed + errors &lt; min_samples, P95 and error rate are <c>inconclusive</c>; P95 also with no completed save.
/// Batch: violation if any, else warn if any, else inconclusive if any, else ok.
/// </summary>
public static class SloGate
{
    /// <summary>Evaluates <paramref name="m"/> for <paramref name="phase"/> under <paramref name="policy"/>.</summary>
    public static GateResult Evaluate(Measurements m, Phase phase, RolloutPolicy policy)
    {
        if (phase == Phase.Off)
        {
            return new GateResult(GateStatus.Off,
            [
                new(MetricNames.P95, m.P95Seconds, null, null, null),
                new(MetricNames.ErrorRate, m.ErrorRatePct, null, null, null),
                new(MetricNames.HistoryDrift, m.HistoryDrift, null, null, null),
                new(MetricNames.CollectorLatency, m.CollectorLatencySeconds, null, null, null),
            ]);
        }

        var slo = policy.For(phase).Slo;
        var r = policy.WarnRatio;
        var enough = m.Completed + m.Errors >= policy.MinSamples;
        MetricResult[] metrics =
        [
            Gate(MetricNames.P95, m.P95Seconds, slo.SaveP95Seconds, r, warns: true, conclusive: enough && m.P95Seconds is not null),
            Gate(MetricNames.ErrorRate, m.ErrorRatePct, slo.ErrorRatePct, r, warns: true, conclusive: enough && m.ErrorRatePct is not null),
            Gate(MetricNames.HistoryDrift, m.HistoryDrift, slo.HistoryDrift, r, warns: false, conclusive: true),
            Gate(MetricNames.CollectorLatency, m.CollectorLatencySeconds, slo.CollectorLatencySeconds, r, warns: true, conclusive: true),
        ];
        var status =
            metrics.Any(x => x.Status == GateStatus.Violation) ? GateStatus.Violation :
            metrics.Any(x => x.Status == GateStatus.Warn) ? GateStatus.Warn :
            metrics.Any(x => x.Status == GateStatus.Inconclusive) ? GateStatus.Inconclusive :
            GateStatus.Ok;
        return new GateResult(status, metrics);
    }

    private static MetricResult Gate(string name, double? value, double threshold, double warnRatio, bool warns, bool conclusive)
    {
        double? warnAt = warns ? warnRatio * threshold : null;
        if (!conclusive || value is null) return new(name, value, threshold, warnAt, GateStatus.Inconclusive);
        var v = value.Value;
        var status = v > threshold ? GateStatus.Violation
            : warns && v >= warnAt!.Value ? GateStatus.Warn
            : GateStatus.Ok;
        return new(name, value, threshold, warnAt, status);
    }
}
