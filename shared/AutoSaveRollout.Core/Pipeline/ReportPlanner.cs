using System.Globalization;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Core.Outboxes;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>
/// Routing of a report (pure): which outward actions a decision or a collector incident calls for, in execution order,
/// with their rendered texts, and the placeholder values of the templates. See <see cref="Reporter"/> for the routing table.
/// </summary>
/// <param name="policy">Channels and flag.</param>
/// <param name="templates">Message templates.</param>
/// <param name="initiator"><c>initiated_by</c> of runbook lines.</param>
public sealed class ReportPlanner(RolloutPolicy policy, TemplateRenderer templates, string initiator)
{
    /// <summary>
    /// What a collector incident's messages say instead of a rollback command: nothing is rolled back, because missing data
    /// is not a violation.
    /// </summary>
    public const string NoRollbackCommand = "none (missing data is not a violation)";

    /// <summary>
    /// The outward actions a decision calls for, in execution order (pure). When <paramref name="promotion"/> says this
    /// window made the phase eligible, <c>autosave-eligible</c> goes to <c>channels.ok</c> last; exactly one window of a
    /// streak does, and its outbox is planned once, so neither redelivery nor later windows post it again.
    /// </summary>
    public IReadOnlyList<OutboxAction> Plan(DecisionRecord d, PromotionStatus? promotion = null)
    {
        var phase = PhaseExtensions.TryParse(d.Phase, out var p) ? p : Phase.Off;
        var status = d.Status.ToGate();
        var values = TemplateValues(d, initiator);
        var actions = new List<OutboxAction>();

        void Slack(string channel, string template) => actions.Add(new OutboxAction
        {
            Id = $"{ActionKind.Slack}:{channel}:{template}", Kind = ActionKind.Slack, Target = channel, Template = template,
            Text = templates.Render(template, values, SlackText.Escape), Status = ActionStatus.Pending,
        });

        if (status == GateStatus.Violation)
        {
            Slack(policy.Channels.Incident, TemplateIds.Incident);
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKind.PagerDuty}:trigger", Kind = ActionKind.PagerDuty, Target = "pagerduty", Template = TemplateIds.Incident,
                Text = templates.Render(TemplateIds.Incident, values), Status = ActionStatus.Pending,
            });
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKind.Flag}:{d.Rollback!.FromPhase}->{d.Rollback.ToPhase}", Kind = ActionKind.Flag, Target = "flag-service",
                Template = TemplateIds.Incident, Text = $"POST /flags/{d.Flag}/rollback {d.Rollback.FromPhase}->{d.Rollback.ToPhase}",
                Status = ActionStatus.Pending, FromPhase = d.Rollback.FromPhase, ToPhase = d.Rollback.ToPhase,
            });
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKind.Runbook}:{TemplateIds.Rollback}", Kind = ActionKind.Runbook, Target = "runbook", Template = TemplateIds.Rollback,
                Text = templates.Render(TemplateIds.Rollback, values), Status = ActionStatus.Pending,
            });
        }
        else if (status == GateStatus.Ok && phase is Phase.B or Phase.C)
        {
            Slack(policy.Channels.Ok, TemplateIds.Ok);
        }

        var warnByStatus = status == GateStatus.Warn && phase is Phase.A or Phase.B;
        if (warnByStatus || d.CollectorDelayed) Slack(policy.Channels.Warn, TemplateIds.Warn);
        if (promotion is { BecameEligible: true })
        {
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKind.Slack}:{policy.Channels.Ok}:{TemplateIds.Eligible}", Kind = ActionKind.Slack, Target = policy.Channels.Ok,
                Template = TemplateIds.Eligible, Status = ActionStatus.Pending,
                Text = templates.Render(TemplateIds.Eligible, EligibleValues(d, promotion, initiator), SlackText.Escape),
            });
        }
        return actions;
    }

    /// <summary>The outward actions of a collector incident (pure): the incident post, then the PagerDuty trigger.</summary>
    public IReadOnlyList<OutboxAction> PlanCollectorIncident(CollectorIncident incident)
    {
        var values = CollectorIncidentValues(incident, initiator);
        return
        [
            new OutboxAction
            {
                Id = $"{ActionKind.Slack}:{policy.Channels.Incident}:{TemplateIds.Incident}", Kind = ActionKind.Slack,
                Target = policy.Channels.Incident, Template = TemplateIds.Incident,
                Text = templates.Render(TemplateIds.Incident, values, SlackText.Escape), Status = ActionStatus.Pending,
            },
            new OutboxAction
            {
                Id = $"{ActionKind.PagerDuty}:trigger", Kind = ActionKind.PagerDuty, Target = "pagerduty", Template = TemplateIds.Incident,
                Text = templates.Render(TemplateIds.Incident, values), Status = ActionStatus.Pending,
            },
        ];
    }

    /// <summary>
    /// Placeholder values for a decision: <c>phase</c>; <c>window</c> as an ISO 8601 interval; <c>p95</c> in seconds with 3
    /// decimals; <c>err_rate</c> in percent with 2 decimals (<c>n/a</c> when undefined); <c>metric</c> = violated metrics joined
    /// by ','; <c>cmd</c> = the rollback command (only for violations); <c>initiator</c>; <c>evidence</c> = the confidence
    /// gate's evidence after " / " (empty in point mode; <see cref="GateEvidenceText.Placeholder"/>).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> TemplateValues(DecisionRecord d, string initiator) => new Dictionary<string, string?>
    {
        ["phase"] = d.Phase,
        ["window"] = TimeWindow.StartingAt(d.WindowStart).ToString(),
        ["p95"] = FormatNumber(d.Metrics[MetricNames.P95].Value, 3),
        ["err_rate"] = FormatNumber(d.Metrics[MetricNames.ErrorRate].Value, 2),
        ["metric"] = d.Violations.Count > 0 ? string.Join(",", d.Violations) : null,
        ["cmd"] = d.Rollback?.Command,
        ["initiator"] = initiator,
        ["evidence"] = GateEvidenceText.Placeholder(d.Gate), // gates (issue 11)
    };

    /// <summary>
    /// Placeholder values for a collector incident: <c>metric</c> = <c>collector.retry_exhausted</c>, <c>cmd</c> =
    /// <see cref="NoRollbackCommand"/>, <c>p95</c> and <c>err_rate</c> = <c>n/a</c> (no data), and the phase, window and initiator.
    /// </summary>
    public static IReadOnlyDictionary<string, string?> CollectorIncidentValues(CollectorIncident incident, string initiator) => new Dictionary<string, string?>
    {
        ["phase"] = incident.Phase,
        ["window"] = TimeWindow.StartingAt(incident.WindowStart).ToString(),
        ["p95"] = FormatNumber(null, 3),
        ["err_rate"] = FormatNumber(null, 2),
        ["metric"] = incident.Metric,
        ["cmd"] = NoRollbackCommand,
        ["initiator"] = initiator,
        ["evidence"] = "", // gates (issue 11): no decision, no statistical evidence
    };

    /// <summary>
    /// Placeholder values of <c>autosave-eligible</c>: the decision's values plus <c>target</c>, <c>compliant_windows</c>
    /// (the rule's required windows), <c>since</c> (<c>yyyy-MM-ddTHH:mmZ</c>) and <c>approvers</c> (comma-separated).
    /// </summary>
    public static IReadOnlyDictionary<string, string?> EligibleValues(DecisionRecord d, PromotionStatus p, string initiator)
    {
        var values = new Dictionary<string, string?>(TemplateValues(d, initiator))
        {
            ["phase"] = p.Phase,
            ["target"] = p.Target,
            ["compliant_windows"] = p.Progress.ToString(CultureInfo.InvariantCulture),
            ["since"] = p.Since is { } since ? Rfc3339.FormatMinutes(since) : null,
            ["approvers"] = string.Join(",", p.Approvers),
        };
        return values;
    }

    // Display rounding is half away from zero (0.125 % → "0.13"), which is what people reading the message expect.
    /// <summary>A value for a message: <paramref name="decimals"/> fixed decimals, rounded half away from zero (0.125 → "0.13"), or <c>n/a</c>.</summary>
    public static string FormatNumber(double? value, int decimals) =>
        value is { } x ? Math.Round(x, decimals, MidpointRounding.AwayFromZero).ToString("F" + decimals, CultureInfo.InvariantCulture) : "n/a";
}
