using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Core.Pipeline;

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

    /// <summary>Queue the Collector feeds and the Analyzer consumes.</summary>
    public const string AnalyzeQueue = "autosave-analyze";

    /// <summary>Queue the Analyzer feeds and the Reporter consumes.</summary>
    public const string ReportQueue = "autosave-report";
}
