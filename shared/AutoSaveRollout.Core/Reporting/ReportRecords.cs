using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Gates;
namespace AutoSaveRollout.Core.Reporting;

/// <summary>The SLO card on the dashboard: the latest window's SLIs and status.</summary>
/// <param name="Phase">Phase the window was judged in.</param>
/// <param name="Window">ISO 8601 interval of the window.</param>
/// <param name="WindowStart">Window start (UTC).</param>
/// <param name="P95">P95 save latency, seconds (null when undefined).</param>
/// <param name="ErrRate">Error rate, percent.</param>
/// <param name="Drift">History drift moving average, events per window.</param>
/// <param name="CollectorLatency">Collector latency, seconds.</param>
/// <param name="Status">Batch status.</param>
/// <param name="DecisionId">Decision behind the card.</param>
public sealed record SloCard(string Phase, string Window, DateTimeOffset WindowStart, double? P95, double? ErrRate, double? Drift,
    double? CollectorLatency, DecisionStatus Status, string DecisionId)
{
    // gates (issue 11): absent in point mode, so point-mode dashboards are unchanged
    /// <summary>The confidence gate's evidence in one line (<see cref="AutoSaveRollout.Core.Gates.GateEvidence.Summary"/>); null in point mode.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Evidence { get; init; }

    /// <summary>The confidence gate's evidence of the window's decision (counts, per-look-back tests); null in point mode.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public AutoSaveRollout.Core.Gates.GateEvidence? Gate { get; init; }
}

/// <summary>A recent decision as listed on the dashboard.</summary>
/// <param name="DecisionId">Decision id.</param>
/// <param name="WindowStart">Window start (UTC).</param>
/// <param name="Phase">Phase judged in.</param>
/// <param name="Status">Batch status.</param>
/// <param name="RollbackRequired">Whether a rollback was required.</param>
/// <param name="Violations">Violated metrics.</param>
/// <param name="P95">P95, seconds.</param>
/// <param name="ErrRate">Error rate, percent.</param>
public sealed record DashboardDecision(string DecisionId, DateTimeOffset WindowStart, string Phase, DecisionStatus Status, bool RollbackRequired,
    IReadOnlyList<string> Violations, double? P95, double? ErrRate);

/// <summary><c>reports/monitoring/dashboard.json</c>.</summary>
public sealed record Dashboard
{
    /// <summary>Feature flag.</summary>
    public required string Flag { get; init; }
    /// <summary>Phase in effect for the next window.</summary>
    public required string Phase { get; init; }
    /// <summary>True from a rollback until one clean (ok or warn) window after it.</summary>
    public required bool RollbackActive { get; init; }
    /// <summary>The latest window's SLO card.</summary>
    public SloCard? SloCard { get; init; }
    /// <summary>Promotion eligibility of the phase in effect (null in off).</summary>
    public PromotionStatus? Promotion { get; init; }
    /// <summary>Approvals, blocked moves, open incidents and the collector cadence (written by the lifecycle tick; null before it ran).</summary>
    public LifecycleView? Lifecycle { get; init; }
    /// <summary>Most recent decisions, newest first (at most <see cref="RecentLimit"/>).</summary>
    public required IReadOnlyList<DashboardDecision> RecentDecisions { get; init; }
    /// <summary>Last update (UTC).</summary>
    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>How many decisions the dashboard lists.</summary>
    public const int RecentLimit = 20;
}
