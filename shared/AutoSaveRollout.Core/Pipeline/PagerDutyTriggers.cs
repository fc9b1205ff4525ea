using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Windows;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// PagerDuty Events API v2 triggers of our incidents and their dedup keys (one incident per flag, phase and window; the
/// collector's own incidents per metric too). Source: PagerDuty Events API v2, "Send an Alert Event" (dedup_key, payload).
/// </summary>
public static class PagerDutyTriggers
{
    /// <summary>PagerDuty dedup key for a decision: <c>{flag}/{phase}/{yyyyMMddTHHmmZ}</c> (flag, phase and window).</summary>
    public static string DedupKey(DecisionRecord d) => $"{d.Flag}/{d.Phase}/{TimeWindow.StartingAt(d.WindowStart).Id}";

    /// <summary>The PagerDuty trigger for a violation: severity critical, custom details with the template id, metrics and rollback command.</summary>
    public static PagerDutyEvent BuildTrigger(DecisionRecord d, string summary, string source)
    {
        var metrics = new JsonObject();
        foreach (var (name, m) in d.Metrics)
            metrics[name] = new JsonObject { ["value"] = m.Value, ["threshold"] = m.Threshold, ["status"] = m.Status?.Value };
        var details = new JsonObject
        {
            ["template_id"] = TemplateIds.Incident,
            ["decision_id"] = d.DecisionId,
            ["flag"] = d.Flag,
            ["phase"] = d.Phase,
            ["window"] = TimeWindow.StartingAt(d.WindowStart).ToString(),
            ["status"] = d.Status.Value,
            ["violations"] = new JsonArray(d.Violations.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray()),
            ["metrics"] = metrics,
            ["rollback"] = new JsonObject
            {
                ["command"] = d.Rollback?.Command,
                ["from_phase"] = d.Rollback?.FromPhase,
                ["to_phase"] = d.Rollback?.ToPhase,
            },
            ["policy_sha256"] = d.PolicySha256,
        };
        return new PagerDutyEvent("trigger", DedupKey(d), summary, source, "critical", d.DecidedAt,
            Component: d.Flag, Group: $"phase-{d.Phase}", Class: "slo_violation", CustomDetails: details);
    }

    /// <summary>PagerDuty dedup key of a collector incident: <c>{flag}/{phase}/{yyyyMMddTHHmmZ}/collector.retry_exhausted</c>.</summary>
    public static string DedupKey(CollectorIncident incident) =>
        $"{incident.Flag}/{incident.Phase}/{TimeWindow.StartingAt(incident.WindowStart).Id}/{incident.Metric}";

    /// <summary>The PagerDuty trigger of a collector incident: severity error, class <c>collector.retry_exhausted</c>, the failure in custom details.</summary>
    public static PagerDutyEvent BuildTrigger(CollectorIncident incident, string summary, string source)
    {
        var f = incident.Failure;
        var details = new JsonObject
        {
            ["template_id"] = TemplateIds.Incident,
            ["incident_id"] = incident.IncidentId,
            ["metric"] = incident.Metric,
            ["flag"] = incident.Flag,
            ["phase"] = incident.Phase,
            ["window"] = TimeWindow.StartingAt(incident.WindowStart).ToString(),
            ["source"] = f.Source,
            ["attempts"] = f.Attempts,
            ["reason"] = f.Reason,
            ["first_attempt_at"] = f.FirstAttemptAt,
            ["gave_up_at"] = f.GaveUpAt,
            ["errors"] = new JsonArray(f.Errors.Select(e => (JsonNode?)new JsonObject
            {
                ["at"] = e.At, ["error"] = e.Error, ["transient"] = e.Transient,
            }).ToArray()),
            ["rollback"] = ReportPlanner.NoRollbackCommand,
        };
        return new PagerDutyEvent("trigger", DedupKey(incident), summary, source, "error", incident.RaisedAt,
            Component: incident.Flag, Group: $"phase-{incident.Phase}", Class: incident.Metric, CustomDetails: details);
    }
}
