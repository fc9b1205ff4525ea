using System.Text.Json;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
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
    private readonly ReportPlanner _planner;
    private readonly PromotionReadBack _promotion;
    private readonly ReportRecorder _recorder;
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
        _planner = new ReportPlanner(policy, templates, _options.Initiator);
        _promotion = new PromotionReadBack(blobs, policy, _log);
        _recorder = new ReportRecorder(blobs, time);
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
        var promotion = await _promotion.EvaluatePromotionAsync(decision, ct).ConfigureAwait(false);
        var (final, failures) = await _outboxes.RunAsync(StorePaths.Outbox(window), decision.DecisionId, decision.WindowStart,
            () => _planner.Plan(decision, promotion), (a, c) => ExecuteAsync(decision, a, c), ct).ConfigureAwait(false);
        await _recorder.UpdateStateAndDashboardAsync(decision, final, promotion, ct).ConfigureAwait(false);
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
            () => _planner.PlanCollectorIncident(incident), (a, c) => ExecuteIncidentAsync(incident, a, c), ct).ConfigureAwait(false);
        if (_followUp is not null)
        {
            await _followUp.CollectorIncidentReportedAsync(incident, final, ct).ConfigureAwait(false);
            await TickLifecycleAsync(ct).ConfigureAwait(false);
        }
        ThrowIfFailed(incident.IncidentId, failures);
        return final;
    }

    private async Task ExecuteIncidentAsync(CollectorIncident incident, OutboxAction a, CancellationToken ct)
    {
        switch (a.Kind)
        {
            case var kind when kind == ActionKind.Slack:
                await _slack.PostAsync(a.Target, a.Text, ct).ConfigureAwait(false);
                break;
            case var kind when kind == ActionKind.PagerDuty:
                await _pagerDuty.SendAsync(PagerDutyTriggers.BuildTrigger(incident, a.Text, _options.PagerDutySource), ct).ConfigureAwait(false);
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

    private async Task ExecuteAsync(DecisionRecord d, OutboxAction a, CancellationToken ct)
    {
        switch (a.Kind)
        {
            case var kind when kind == ActionKind.Slack:
                await _slack.PostAsync(a.Target, a.Text, ct).ConfigureAwait(false);
                break;
            case var kind when kind == ActionKind.PagerDuty:
                await _pagerDuty.SendAsync(PagerDutyTriggers.BuildTrigger(d, a.Text, _options.PagerDutySource), ct).ConfigureAwait(false);
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
}
