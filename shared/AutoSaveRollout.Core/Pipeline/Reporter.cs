using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Pipeline;

/// <summary>Reporter settings.</summary>
public sealed record ReporterOptions
{
    /// <summary>Render and record everything, send nothing outside, call no flag service.</summary>
    public bool DryRun { get; init; }

    /// <summary><c>initiated_by</c> in the runbook line for automatic rollbacks.</summary>
    public string Initiator { get; init; } = "autosave-rollout-monitor";

    /// <summary>PagerDuty <c>payload.source</c>.</summary>
    public string PagerDutySource { get; init; } = "autosave-rollout-monitor";
}

/// <summary>
/// Reporter stage. Routing (issue "Collector → Analyzer → Reporter", Reporter): <c>ok</c> → <c>autosave-ok</c> to
/// <c>channels.ok</c> in phases B and C; <c>warn</c> → <c>autosave-warn</c> to <c>channels.warn</c> in phases A and B (and in
/// any phase for a <c>collector.delayed</c> window); <c>violation</c> → <c>autosave-incident</c> to <c>channels.incident</c>,
/// a PagerDuty Events v2 trigger, the rollback flag-service call, then the <c>autosave-rollback</c> runbook line.
/// Actions are planned into an outbox and each is recorded before and after it is attempted, so a redelivered message
/// never repeats a completed action. Actions are independent (a failed Slack post never blocks the rollback), except the
/// runbook line, which is written only after the flag call succeeded. Then the rollout state (<c>rollback_active</c>) and
/// the dashboard are updated.
/// <para>
/// A <see cref="CollectorIncident"/> (the Collector gave up on a window) gets <c>autosave-incident</c> to
/// <c>channels.incident</c> with metric <c>collector.retry_exhausted</c> and a PagerDuty trigger under its own dedup key,
/// through its own outbox; no flag call, no runbook line, no state or dashboard change.
/// </para>
/// </summary>
public sealed class Reporter
{
    private readonly IBlobStore _blobs;
    private readonly RolloutPolicy _policy;
    private readonly TemplateRenderer _templates;
    private readonly ISlackNotifier _slack;
    private readonly IPagerDutyEvents _pagerDuty;
    private readonly IRollbackFlagService _flags;
    private readonly TimeProvider _time;
    private readonly ReporterOptions _options;
    private readonly ILogger _log;
    private readonly JsonRecordStore<RolloutState> _state;
    private readonly JsonRecordStore<Dashboard> _dashboard;
    private readonly OutboxRunner _outboxes;
    private readonly IReportFollowUp? _followUp;

    /// <summary>Creates the stage. <paramref name="lifecycle"/>: what follows a report (the phase lifecycle); null: nothing does.</summary>
    public Reporter(IBlobStore blobs, RolloutPolicy policy, TemplateRenderer templates, ISlackNotifier slack, IPagerDutyEvents pagerDuty,
        IRollbackFlagService flags, TimeProvider time, ReporterOptions? options = null, ILogger<Reporter>? log = null, IReportFollowUp? lifecycle = null)
    {
        _followUp = lifecycle;
        _blobs = blobs;
        _policy = policy;
        _templates = templates;
        _slack = slack;
        _pagerDuty = pagerDuty;
        _flags = flags;
        _time = time;
        _options = options ?? new ReporterOptions();
        _log = log ?? (ILogger)NullLogger.Instance;
        _state = new JsonRecordStore<RolloutState>(blobs, StorePaths.RolloutState);
        _dashboard = new JsonRecordStore<Dashboard>(blobs, StorePaths.Dashboard);
        _outboxes = new OutboxRunner(blobs, time, _options.DryRun, _log);
    }

    /// <summary>
    /// Handles a report-queue message (JSON <see cref="ReportMessage"/>): a decision, or a collector incident when its type
    /// is <c>collector.retry_exhausted</c>.
    /// </summary>
    public async Task<Outbox> HandleAsync(string messageText, CancellationToken ct = default)
    {
        var message = JsonSerializer.Deserialize<ReportMessage>(messageText, Json.Compact) ?? throw new JsonException("empty report message");
        var blob = await _blobs.TryGetAsync(message.Decision, ct).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"decision {message.Decision} not found");
        if (message.Type == Collector.RetryExhaustedEvent)
            return await ReportCollectorIncidentAsync(Json.FromBytes<CollectorIncident>(blob.Content), ct).ConfigureAwait(false);
        return await ReportAsync(Json.FromBytes<DecisionRecord>(blob.Content), ct).ConfigureAwait(false);
    }

    /// <summary>Reports one decision; throws <see cref="ReportDeliveryException"/> when an action failed (after recording it).</summary>
    public async Task<Outbox> ReportAsync(DecisionRecord decision, CancellationToken ct = default)
    {
        var window = TimeWindow.StartingAt(decision.WindowStart);
        var promotion = await EvaluatePromotionAsync(decision, ct).ConfigureAwait(false);
        var (final, failures) = await _outboxes.RunAsync(StorePaths.Outbox(window), decision.DecisionId, decision.WindowStart,
            () => Plan(decision, promotion), (a, c) => ExecuteAsync(decision, a, c), ct).ConfigureAwait(false);
        await UpdateStateAndDashboardAsync(decision, final, promotion, ct).ConfigureAwait(false);
        // One line per decision (issue 10): window, phase, status, violated metrics and where each action stands.
        _log.LogInformation("decision {DecisionId}: window {Window} phase {Phase} status {Status}; violations: {Violations}; actions: {Actions}",
            decision.DecisionId, window, decision.Phase, decision.Status, decision.Violations.Count == 0 ? "none" : string.Join(",", decision.Violations),
            final.Actions.Count == 0 ? "none" : string.Join(", ", final.Actions.Select(a => $"{a.Id} {a.Status}")));
        if (_followUp is not null)
        {
            await _followUp.DecisionReportedAsync(decision, final, ct).ConfigureAwait(false);
            await TickLifecycleAsync(ct).ConfigureAwait(false);
        }
        ThrowIfFailed(decision.DecisionId, failures);
        return final;
    }

    /// <summary>
    /// Reports a collector incident: <c>autosave-incident</c> to <c>channels.incident</c> and a PagerDuty trigger, each
    /// once (outbox <see cref="StorePaths.IncidentOutbox"/>). Throws <see cref="ReportDeliveryException"/> when one failed.
    /// </summary>
    public async Task<Outbox> ReportCollectorIncidentAsync(CollectorIncident incident, CancellationToken ct = default)
    {
        var window = TimeWindow.StartingAt(incident.WindowStart);
        var (final, failures) = await _outboxes.RunAsync(StorePaths.IncidentOutbox(window), incident.IncidentId, incident.WindowStart,
            () => PlanCollectorIncident(incident), (a, c) => ExecuteIncidentAsync(incident, a, c), ct).ConfigureAwait(false);
        if (_followUp is not null)
        {
            await _followUp.CollectorIncidentReportedAsync(incident, final, ct).ConfigureAwait(false);
            await TickLifecycleAsync(ct).ConfigureAwait(false);
        }
        ThrowIfFailed(incident.IncidentId, failures);
        return final;
    }

    /// <summary>
    /// What a collector incident's messages say instead of a rollback command: nothing is rolled back, because missing data
    /// is not a violation.
    /// </summary>
    public const string NoRollbackCommand = "none (missing data is not a violation)";

    /// <summary>The outward actions of a collector incident (pure): the incident post, then the PagerDuty trigger.</summary>
    public IReadOnlyList<OutboxAction> PlanCollectorIncident(CollectorIncident incident)
    {
        var values = CollectorIncidentValues(incident, _options.Initiator);
        return
        [
            new OutboxAction
            {
                Id = $"{ActionKind.Slack}:{_policy.Channels.Incident}:{TemplateIds.Incident}", Kind = ActionKind.Slack,
                Target = _policy.Channels.Incident, Template = TemplateIds.Incident,
                Text = _templates.Render(TemplateIds.Incident, values, SlackText.Escape), Status = ActionStatus.Pending,
            },
            new OutboxAction
            {
                Id = $"{ActionKind.PagerDuty}:trigger", Kind = ActionKind.PagerDuty, Target = "pagerduty", Template = TemplateIds.Incident,
                Text = _templates.Render(TemplateIds.Incident, values), Status = ActionStatus.Pending,
            },
        ];
    }

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

    /// <summary>PagerDuty dedup key of a collector incident: <c>{flag}/{phase}/{yyyyMMddTHHmmZ}/collector.retry_exhausted</c>.</summary>
    public static string DedupKey(CollectorIncident incident) =>
        $"{incident.Flag}/{incident.Phase}/{TimeWindow.StartingAt(incident.WindowStart).Id}/{incident.Metric}";

    /// <summary>The PagerDuty trigger of a collector incident: severity error, class <c>collector.retry_exhausted</c>, the failure in custom details.</summary>
    public PagerDutyEvent BuildTrigger(CollectorIncident incident, string summary)
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
            ["rollback"] = NoRollbackCommand,
        };
        return new PagerDutyEvent("trigger", DedupKey(incident), summary, _options.PagerDutySource, "error", incident.RaisedAt,
            Component: incident.Flag, Group: $"phase-{incident.Phase}", Class: incident.Metric, CustomDetails: details);
    }

    private async Task ExecuteIncidentAsync(CollectorIncident incident, OutboxAction a, CancellationToken ct)
    {
        switch (a.Kind)
        {
            case var kind when kind == ActionKind.Slack:
                await _slack.PostAsync(a.Target, a.Text, ct).ConfigureAwait(false);
                break;
            case var kind when kind == ActionKind.PagerDuty:
                await _pagerDuty.SendAsync(BuildTrigger(incident, a.Text), ct).ConfigureAwait(false);
                break;
            default:
                throw new InvalidOperationException($"unexpected action kind {a.Kind} for a collector incident");
        }
    }

    private static void ThrowIfFailed(string id, IReadOnlyList<(OutboxAction Action, bool Transient)> failures)
    {
        if (failures.Count == 0) return;
        throw new ReportDeliveryException(
            $"report {id}: {failures.Count} action(s) failed: " + string.Join("; ", failures.Select(f => $"{f.Action.Id} ({f.Action.LastError})")),
            failures.All(f => f.Transient));
    }

    /// <summary>
    /// Promotion eligibility of the phase in effect after <paramref name="d"/> (its <c>next_phase</c>), from the stored
    /// decisions read back window by window from <paramref name="d"/>'s: at most
    /// <see cref="PromotionEligibility.LookbackLimit"/> windows, stopping at the first missing or unreadable decision, a
    /// window of another phase, a violation or off window, or one compliant window more than the rule requires. Null in off.
    /// </summary>
    public async Task<PromotionStatus?> EvaluatePromotionAsync(DecisionRecord d, CancellationToken ct = default)
    {
        if (!PhaseExtensions.TryParse(d.NextPhase, out var phase) || phase == Phase.Off) return null;
        var rule = _policy.For(phase).Promotion;
        var wire = phase.ToWire();
        var newestFirst = new List<WindowOutcome> { new(d.WindowStart, d.Phase, d.Status) };
        var compliant = d.Status.IsClean ? 1 : 0;
        var limit = PromotionEligibility.LookbackLimit(rule.RequiredWindows);
        var start = d.WindowStart;
        while (d.Phase == wire && newestFirst.Count < limit && compliant <= rule.RequiredWindows
               && newestFirst[^1] is { } last && (last.Status.IsClean || last.Status == DecisionStatus.Inconclusive) && last.Phase == wire)
        {
            start -= PromotionEligibility.Window;
            var blob = await _blobs.TryGetAsync(StorePaths.Decision(TimeWindow.StartingAt(start)), ct).ConfigureAwait(false);
            if (blob is null) break;
            DecisionRecord earlier;
            try
            {
                earlier = Json.FromBytes<DecisionRecord>(blob.Content);
            }
            catch (JsonException ex)
            {
                _log.LogWarning("promotion: decision of window {Window} is unreadable ({Error}); counted as missing", start, ex.Message);
                break;
            }
            newestFirst.Add(new WindowOutcome(earlier.WindowStart, earlier.Phase, earlier.Status));
            if (earlier.Status.IsClean) compliant++;
        }
        newestFirst.Reverse();
        return PromotionEligibility.Evaluate(phase, rule, newestFirst);
    }

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

    /// <summary>
    /// The outward actions a decision calls for, in execution order (pure). When <paramref name="promotion"/> says this
    /// window made the phase eligible, <c>autosave-eligible</c> goes to <c>channels.ok</c> last; exactly one window of a
    /// streak does, and its outbox is planned once, so neither redelivery nor later windows post it again.
    /// </summary>
    public IReadOnlyList<OutboxAction> Plan(DecisionRecord d, PromotionStatus? promotion = null)
    {
        var phase = PhaseExtensions.TryParse(d.Phase, out var p) ? p : Phase.Off;
        var status = d.Status.ToGate();
        var values = TemplateValues(d, _options.Initiator);
        var actions = new List<OutboxAction>();

        void Slack(string channel, string template) => actions.Add(new OutboxAction
        {
            Id = $"{ActionKind.Slack}:{channel}:{template}", Kind = ActionKind.Slack, Target = channel, Template = template,
            Text = _templates.Render(template, values, SlackText.Escape), Status = ActionStatus.Pending,
        });

        if (status == GateStatus.Violation)
        {
            Slack(_policy.Channels.Incident, TemplateIds.Incident);
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKind.PagerDuty}:trigger", Kind = ActionKind.PagerDuty, Target = "pagerduty", Template = TemplateIds.Incident,
                Text = _templates.Render(TemplateIds.Incident, values), Status = ActionStatus.Pending,
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
                Text = _templates.Render(TemplateIds.Rollback, values), Status = ActionStatus.Pending,
            });
        }
        else if (status == GateStatus.Ok && phase is Phase.B or Phase.C)
        {
            Slack(_policy.Channels.Ok, TemplateIds.Ok);
        }

        var warnByStatus = status == GateStatus.Warn && phase is Phase.A or Phase.B;
        if (warnByStatus || d.CollectorDelayed) Slack(_policy.Channels.Warn, TemplateIds.Warn);
        if (promotion is { BecameEligible: true })
        {
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKind.Slack}:{_policy.Channels.Ok}:{TemplateIds.Eligible}", Kind = ActionKind.Slack, Target = _policy.Channels.Ok,
                Template = TemplateIds.Eligible, Status = ActionStatus.Pending,
                Text = _templates.Render(TemplateIds.Eligible, EligibleValues(d, promotion, _options.Initiator), SlackText.Escape),
            });
        }
        return actions;
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

    // Display rounding is half away from zero (0.125 % → "0.13"), which is what people reading the message expect.
    /// <summary>A value for a message: <paramref name="decimals"/> fixed decimals, rounded half away from zero (0.125 → "0.13"), or <c>n/a</c>.</summary>
    public static string FormatNumber(double? value, int decimals) =>
        value is { } x ? Math.Round(x, decimals, MidpointRounding.AwayFromZero).ToString("F" + decimals, CultureInfo.InvariantCulture) : "n/a";

    /// <summary>PagerDuty dedup key for a decision: <c>{flag}/{phase}/{yyyyMMddTHHmmZ}</c> (flag, phase and window).</summary>
    public static string DedupKey(DecisionRecord d) => $"{d.Flag}/{d.Phase}/{TimeWindow.StartingAt(d.WindowStart).Id}";

    /// <summary>The PagerDuty trigger for a violation: severity critical, custom details with the template id, metrics and rollback command.</summary>
    public PagerDutyEvent BuildTrigger(DecisionRecord d, string summary)
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
        return new PagerDutyEvent("trigger", DedupKey(d), summary, _options.PagerDutySource, "critical", d.DecidedAt,
            Component: d.Flag, Group: $"phase-{d.Phase}", Class: "slo_violation", CustomDetails: details);
    }

    private async Task ExecuteAsync(DecisionRecord d, OutboxAction a, CancellationToken ct)
    {
        switch (a.Kind)
        {
            case var kind when kind == ActionKind.Slack:
                await _slack.PostAsync(a.Target, a.Text, ct).ConfigureAwait(false);
                break;
            case var kind when kind == ActionKind.PagerDuty:
                await _pagerDuty.SendAsync(BuildTrigger(d, a.Text), ct).ConfigureAwait(false);
                break;
            case var kind when kind == ActionKind.Flag:
                var r = d.Rollback!;
                await _flags.RollbackAsync(new FlagRollbackRequest(d.Flag, r.FromPhase, r.ToPhase, r.Reason, d.DecisionId), ct).ConfigureAwait(false);
                break;
            case var kind when kind == ActionKind.Runbook:
                await AppendRunbookAsync(d, a.Text, ct).ConfigureAwait(false);
                break;
            default:
                throw new InvalidOperationException($"unknown action kind {a.Kind}");
        }
    }

    private Task AppendRunbookAsync(DecisionRecord d, string text, CancellationToken ct) =>
        Runbook.AppendOnceAsync(_blobs, _time.GetUtcNow(), d.DecisionId, _options.DryRun, text, _log, ct);

    // The report is done once its own actions and records are: a failing lifecycle tick (storage outage, a bug) must not
    // make the report message fail and be redelivered or dead-lettered. The lifecycle timer ticks again within minutes.
    private async Task TickLifecycleAsync(CancellationToken ct)
    {
        try
        {
            await _followUp!.TickAsync(ct).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            _log.LogError("lifecycle tick after the report failed; the next tick retries: {Error}", ex.Message);
        }
    }

    private static DateTimeOffset? FlagCallCompletedAt(Outbox outbox) =>
        outbox.Actions.FirstOrDefault(a => a.Kind == ActionKind.Flag && a.Status.IsFinished)?.CompletedAt;

    // Promotion is only replaced by one as of the same or a later window (reports may arrive out of order).
    private static PromotionStatus? Newer(PromotionStatus? current, PromotionStatus? computed, DecisionRecord d) =>
        current?.AsOfWindowStart is { } asOf && asOf > d.WindowStart ? current : computed;

    private async Task UpdateStateAndDashboardAsync(DecisionRecord d, Outbox outbox, PromotionStatus? promotion, CancellationToken ct)
    {
        var rolledBack = outbox.Actions.Any(a => a.Kind == ActionKind.Flag && a.Status.IsFinished);
        var clean = d.Status.IsClean;
        var state = await _state.UpdateAsync(s =>
        {
            s = (s ?? RolloutState.Unstarted(d.NextPhase)).WithPromotionAsOf(promotion, d.WindowStart);
            if (rolledBack)
            {
                var called = s.RollbackCalled(d.DecisionId, d.WindowStart, FlagCallCompletedAt(outbox) ?? _time.GetUtcNow(), _time.GetUtcNow());
                if (!ReferenceEquals(called, s)) return called;
            }
            return clean ? s.ClearRollbackActive(d.WindowStart, _time.GetUtcNow()) : s;
        }, ct).ConfigureAwait(false);

        var window = TimeWindow.StartingAt(d.WindowStart);
        var entry = new DashboardDecision(d.DecisionId, d.WindowStart, d.Phase, d.Status, d.RollbackRequired, d.Violations,
            d.Metrics[MetricNames.P95].Value, d.Metrics[MetricNames.ErrorRate].Value);
        var card = new SloCard(d.Phase, window.ToString(), d.WindowStart, d.Metrics[MetricNames.P95].Value, d.Metrics[MetricNames.ErrorRate].Value,
            d.Metrics[MetricNames.HistoryDrift].Value, d.Metrics[MetricNames.CollectorLatency].Value, d.Status, d.DecisionId)
        {
            Evidence = d.Gate?.Summary(), Gate = d.Gate, // gates (issue 11)
        };
        await _dashboard.UpdateAsync(db => new Dashboard
        {
            Flag = d.Flag,
            Phase = state.Phase,
            RollbackActive = state.RollbackActive,
            Promotion = Newer(db?.Promotion, promotion, d),
            Lifecycle = db?.Lifecycle,
            SloCard = db?.SloCard is { } current && current.WindowStart > d.WindowStart ? current : card,
            RecentDecisions = (db?.RecentDecisions ?? [])
                .Where(x => x.DecisionId != d.DecisionId)
                .Append(entry)
                .OrderByDescending(x => x.WindowStart)
                .Take(Dashboard.RecentLimit)
                .ToList(),
            UpdatedAt = _time.GetUtcNow(),
        }, ct).ConfigureAwait(false);
    }
}
