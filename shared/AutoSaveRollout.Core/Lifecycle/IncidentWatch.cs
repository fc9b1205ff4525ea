using System.Globalization;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Core.Windows;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// Watches the incidents of the ledger (design sections 6.1 and 9): records triggered ones, polls PagerDuty for their
/// acknowledgement, escalates one unacknowledged after <see cref="LifecycleOptions.EscalateAfter"/> (priority and
/// <c>autosave-escalation</c>, once), notes a found RCA, and steps the phase back once an RCA is overdue
/// (<see cref="RolloutState.StepBackForOverdueRca"/>: flag rollback <c>rca_overdue</c>, <c>autosave-rca-overdue</c>, runbook line).
/// </summary>
internal sealed class IncidentWatch(LifecycleContext context, LifecycleOutboxes outboxes, Approvals approvals, IPagerDutyIncidents? pagerDuty,
    Func<EvidenceChecks> evidence)
{
    /// <summary>Adds a triggered incident to the ledger (once per id).</summary>
    public Task RecordAsync(IncidentRecord incident, CancellationToken ct) =>
        context.Ledger.UpdateAsync(l => (l ??= new IncidentLedger()).Incidents.Any(x => x.Id == incident.Id) ? l : l with { Incidents = [.. l.Incidents, incident] }, ct);

    /// <summary>Polls PagerDuty for unacknowledged incidents, escalates the overdue ones and notes RCAs found.</summary>
    public async Task CheckAsync(CancellationToken ct)
    {
        var (ledger, _) = await context.Ledger.ReadAsync(ct).ConfigureAwait(false);
        if (ledger is null) return;
        var now = context.Now;
        var options = context.Options;
        var checks = evidence();
        foreach (var incident in ledger.Incidents)
        {
            var current = incident;
            if (!current.DryRun && pagerDuty is not null && current.RespondedAt is null && now - current.TriggeredAt <= options.PollFor)
            {
                PagerDutyIncident? found = null;
                var lookedUp = false;
                try
                {
                    found = await pagerDuty.FindByIncidentKeyAsync(current.DedupKey, ct).ConfigureAwait(false);
                    lookedUp = true;
                    current = (found is null ? current with { PagerDutyStatus = null, RespondedAt = null } : current.Observed(found)) with { LastCheckError = null };
                }
                catch (DeliveryException ex)
                {
                    context.Log.LogWarning("incident {Id}: PagerDuty lookup failed: {Error}", current.Id, ex.Message);
                    current = current with { LastCheckError = $"{ex.Target}: {ex.Message}" };
                }
                if (lookedUp && current.RespondedAt is null && current.EscalatedAt is null && now - current.TriggeredAt >= options.EscalateAfter)
                {
                    var escalation = PlanEscalation(current, found, now);
                    await outboxes.AddPendingAsync(escalation, ct).ConfigureAwait(false);
                    current = current with { EscalatedAt = now };
                    await SaveAsync(current, ct).ConfigureAwait(false);
                    await outboxes.RunPendingAsync(escalation, ct).ConfigureAwait(false);
                    context.Log.LogWarning("incident {Id} unacknowledged after {Minutes:0} min: escalated", current.Id, (now - current.TriggeredAt).TotalMinutes);
                }
            }
            if (current.RcaFoundAt is null && await checks.FindRcaAsync(current, ct).ConfigureAwait(false) is { } rca)
                current = current with { RcaPath = rca, RcaFoundAt = now };
            if (current != incident) await SaveAsync(current, ct).ConfigureAwait(false);
        }
    }

    /// <summary>Steps the phase back once for every incident whose RCA is overdue (all overdue at once: one step).</summary>
    public async Task EnforceRcaDeadlinesAsync(CancellationToken ct)
    {
        var (ledger, _) = await context.Ledger.ReadAsync(ct).ConfigureAwait(false);
        var now = context.Now;
        var overdue = (ledger?.Incidents ?? []).Where(i => i.RcaFoundAt is null && i.RcaOverdueAt is null && now >= i.TriggeredAt + context.Options.RcaDue).ToList();
        if (overdue.Count == 0) return;

        // All incidents overdue at once are answered by one step back: never more than one phase per step.
        var stepId = $"rca-{overdue[0].Id}";
        var ids = overdue.Select(i => i.Id).ToList();
        string from = "off", to = "off";
        PendingOutbox? transition = null;
        await outboxes.ParkTransitionAsync(stepId, ct).ConfigureAwait(false);
        await context.State.UpdateAsync(s =>
        {
            s ??= RolloutState.Start("off", now);
            from = s.Phase;
            var active = PhaseExtensions.TryParse(s.Phase, out var phase) && phase != Phase.Off;
            var back = active ? phase.StepBack() : phase;
            to = active ? back.ToWire() : from;
            transition = PlanStepBack(stepId, overdue, from, to);
            var promotion = active && back != Phase.Off ? PromotionEligibility.Evaluate(back, context.Policy.For(back).Promotion, []) : null;
            return s.StepBackForOverdueRca(stepId, to, transition, promotion, now);
        }, ct).ConfigureAwait(false);
        var stepped = from != to;
        await context.Ledger.UpdateAsync(l => l! with
        {
            Incidents = l.Incidents.Select(i => ids.Contains(i.Id) ? i with { RcaOverdueAt = now, StepBackId = stepId } : i).ToList(),
        }, ct).ConfigureAwait(false);
        if (stepped) await approvals.VoidAsync(from, stepId, ct).ConfigureAwait(false);
        await context.Audit.AppendOnceAsync(new AuditEntry
        {
            Id = stepId, Type = AuditEntryType.PhaseSteppedBack, At = now, Flag = context.Policy.Flag, Phase = from, Target = to, Incidents = ids,
            Note = "rca_overdue" + (stepped ? "" : " (phase already off: nothing to step back)"), PolicySha256 = context.Policy.Sha256,
        }, ct).ConfigureAwait(false);
        await outboxes.RunTransitionAsync(transition!, ct).ConfigureAwait(false);
        context.Log.LogWarning("RCA overdue for {Incidents}: phase {From} → {To}", string.Join(", ", ids), from, to);
    }

    private Task SaveAsync(IncidentRecord incident, CancellationToken ct) =>
        context.Ledger.UpdateAsync(l => l!.Replace(incident), ct);

    private PendingOutbox PlanEscalation(IncidentRecord incident, PagerDutyIncident? found, DateTimeOffset now)
    {
        var priority = context.Options.EscalationPriority;
        var values = new Dictionary<string, string?>
        {
            ["phase"] = incident.Phase,
            ["minutes"] = ((int)(now - incident.TriggeredAt).TotalMinutes).ToString(CultureInfo.InvariantCulture),
            ["priority"] = found is null ? "unchanged (not found in PagerDuty)" : priority,
            ["incident"] = (incident with { PagerDutyNumber = found?.IncidentNumber ?? incident.PagerDutyNumber }).Label(),
            ["metric"] = incident.Metric,
            ["window"] = TimeWindow.StartingAt(incident.WindowStart).ToString(),
            ["cmd"] = incident.Command,
        };
        var actions = new List<OutboxAction>();
        if (found is not null)
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKind.PagerDutyPriority}:{priority}", Kind = ActionKind.PagerDutyPriority, Target = found.Id,
                Template = TemplateIds.Escalation, Text = priority, Status = ActionStatus.Pending,
            });
        actions.Add(outboxes.SlackAction(context.Policy.Channels.Escalation, TemplateIds.Escalation, values));
        return new PendingOutbox($"esc-{incident.Id}", actions);
    }

    private PendingOutbox PlanStepBack(string stepId, IReadOnlyList<IncidentRecord> overdue, string from, string to)
    {
        var stepped = from != to;
        var flag = context.Policy.Flag;
        var values = new Dictionary<string, string?>
        {
            ["incident"] = string.Join(", ", overdue.Select(i => i.Label())),
            ["raised"] = Rfc3339.FormatMinutes(overdue[0].TriggeredAt),
            ["phase"] = from, ["target"] = stepped ? to : $"{to} (nothing to step back)",
        };
        var actions = new List<OutboxAction>();
        if (stepped)
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKind.Flag}:{from}->{to}", Kind = ActionKind.Flag, Target = "flag-service", Template = TemplateIds.RcaOverdue,
                Text = $"POST /flags/{flag}/rollback {from}->{to}", Status = ActionStatus.Pending, FromPhase = from, ToPhase = to,
            });
        actions.Add(outboxes.SlackAction(context.Policy.Channels.Incident, TemplateIds.RcaOverdue, values));
        if (stepped)
        {
            var runbookValues = new Dictionary<string, string?>
            {
                ["cmd"] = RollbackPlan.CommandFor(context.Options.CliName, flag, from, to, "rca_overdue", stepId),
                ["initiator"] = context.Options.Initiator, ["metric"] = "rca_overdue",
            };
            actions.Add(new OutboxAction
            {
                Id = $"{ActionKind.Runbook}:{TemplateIds.Rollback}", Kind = ActionKind.Runbook, Target = "runbook", Template = TemplateIds.Rollback,
                Text = context.Templates.Render(TemplateIds.Rollback, runbookValues), Status = ActionStatus.Pending,
            });
        }
        return new PendingOutbox(stepId, actions);
    }
}
