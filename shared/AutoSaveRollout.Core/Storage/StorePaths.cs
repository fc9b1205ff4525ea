using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Core.Storage;

/// <summary>
/// Where the pipeline keeps things in blob storage (<c>{container}/{name}</c>). Containers: <c>autosave</c> (batches,
/// manifests, rejected lines), <c>decisions</c>, <c>reports</c> (dashboard, runbook, notification log, outbox),
/// <c>state</c> (phase, collector progress).
/// </summary>
public static class StorePaths
{
    /// <summary>Normalised JSONL batch: <c>autosave/{yyyy}/{MM}/{dd}/{HHmm}.jsonl</c>.</summary>
    public static string Batch(TimeWindow w) => $"autosave/{w.PathKey}.jsonl";

    /// <summary>Batch manifest (JSON), written last: its presence means "window collected".</summary>
    public static string Manifest(TimeWindow w) => $"autosave/{w.PathKey}.manifest.json";

    /// <summary>Rejected lines of the window (JSONL: source, line, reason, text).</summary>
    public static string Rejected(TimeWindow w) => $"autosave/{w.PathKey}.rejected.jsonl";

    /// <summary>Decision record: <c>decisions/{yyyy}/{MM}/{dd}/{HHmm}.json</c>.</summary>
    public static string Decision(TimeWindow w) => $"decisions/{w.PathKey}.json";

    /// <summary>Reporter outbox for a window's decision: which outward actions are done.</summary>
    public static string Outbox(TimeWindow w) => $"reports/outbox/{w.PathKey}.json";

    /// <summary>
    /// The Analyzer's record of a window the Collector gave up on: <c>decisions/{yyyy}/{MM}/{dd}/{HHmm}.retry_exhausted.json</c>
    /// (beside the window's decision, which exists only once the window is finally collected).
    /// </summary>
    public static string CollectorIncident(TimeWindow w) => $"decisions/{w.PathKey}.retry_exhausted.json";

    /// <summary>Reporter outbox of a window's collector incident (separate from the decision's outbox).</summary>
    public static string IncidentOutbox(TimeWindow w) => $"reports/outbox/{w.PathKey}.retry_exhausted.json";

    /// <summary>Every window read the Collector gave up on (JSONL, one <c>CollectorFailure</c> per line).</summary>
    public const string RetryFailures = "reports/monitoring/retry_failures.jsonl";

    /// <summary>The dashboard: <c>reports/monitoring/dashboard.json</c>.</summary>
    public const string Dashboard = "reports/monitoring/dashboard.json";

    /// <summary>Runbook log (text, one <c>autosave-rollback</c> line per rollback).</summary>
    public const string Runbook = "reports/monitoring/runbook.log";

    /// <summary>Every rendered notification and its delivery outcome (JSONL).</summary>
    public const string Notifications = "reports/monitoring/notifications.jsonl";

    /// <summary>Rollout state: phase in effect and <c>rollback_active</c> (optimistic concurrency by ETag).</summary>
    public const string RolloutState = "state/rollout.json";

    /// <summary>Collector progress: last fully collected window.</summary>
    public const string CollectorState = "state/collector.json";

    /// <summary>
    /// The governance audit log (JSONL, append-only): approvals, voided approvals, blocked and completed moves, step backs,
    /// retry-failure reviews and evidence waivers, one <c>AuditEntry</c> per line.
    /// </summary>
    public const string Audit = "reports/governance/audit.jsonl";

    /// <summary>Incident ledger: every PagerDuty incident the pipeline triggered, its acknowledgement, escalation and RCA.</summary>
    public const string Incidents = "state/incidents.json";

    /// <summary>Lifecycle progress (pending move, last blocked reasons, last daily report).</summary>
    public const string Lifecycle = "state/lifecycle.json";

    /// <summary>Root-cause analysis of the incidents of a day: <c>reports/rca/{yyyy-MM-dd}.md</c>.</summary>
    public static string Rca(DateOnly date) => "reports/rca/" + date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + ".md";

    /// <summary>Outbox of a lifecycle action (promotion, step back, escalation, daily report) by its id.</summary>
    public static string LifecycleOutbox(string id) => $"reports/outbox/lifecycle/{id}.json";

    /// <summary>The phase C daily report of <paramref name="date"/> (JSON).</summary>
    public static string DailyReport(DateOnly date) => "reports/daily/" + date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + ".json";

    /// <summary>Queue the Collector feeds and the Analyzer consumes.</summary>
    public const string AnalyzeQueue = "autosave-analyze";

    /// <summary>Queue the Analyzer feeds and the Reporter consumes.</summary>
    public const string ReportQueue = "autosave-report";
}
