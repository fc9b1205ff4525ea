using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Lifecycle;

/// <summary>
/// The lifecycle's outboxes: plans its actions, keeps unfinished ones (the rollout state's transition and the progress
/// record's pending outboxes) until every action is done, and executes each action from the outbox alone, so a tick after
/// a crash finishes what an earlier one started (<see cref="OutboxRunner"/> never repeats a completed action).
/// </summary>
internal sealed class LifecycleOutboxes(LifecycleContext context, ISlackNotifier slack, IRollbackFlagService flags, IPagerDutyIncidents? pagerDuty)
{
    private readonly OutboxRunner _runner = new(context.Blobs, context.Time, context.Options.DryRun, context.Log);

    /// <summary>A Slack post of <paramref name="template"/> to <paramref name="channel"/>, rendered now (mrkdwn-escaped).</summary>
    public OutboxAction SlackAction(string channel, string template, IReadOnlyDictionary<string, string?> values) => new()
    {
        Id = $"{ActionKind.Slack}:{channel}:{template}", Kind = ActionKind.Slack, Target = channel, Template = template,
        Text = context.Templates.Render(template, values, SlackText.Escape), Status = ActionStatus.Pending,
    };

    /// <summary>Adds <paramref name="pending"/> to the progress record's pending outboxes (once per id).</summary>
    public Task AddPendingAsync(PendingOutbox pending, CancellationToken ct) =>
        context.Progress.UpdateAsync(pr => (pr ??= new LifecycleProgress()).PendingOutboxes.Any(p => p.Id == pending.Id)
            ? pr
            : pr with { PendingOutboxes = [.. pr.PendingOutboxes, pending] }, ct);

    /// <summary>Runs a pending outbox of the progress record; removes it from there once every action is done.</summary>
    public async Task RunPendingAsync(PendingOutbox pending, CancellationToken ct)
    {
        if (await RunAsync(pending, ct).ConfigureAwait(false))
            await context.Progress.UpdateAsync(pr => (pr ?? new LifecycleProgress()) with
            {
                PendingOutboxes = (pr?.PendingOutboxes ?? []).Where(x => x.Id != pending.Id).ToList(),
            }, ct).ConfigureAwait(false);
    }

    /// <summary>Runs the rollout state's transition outbox; clears it from the state once every action is done.</summary>
    public async Task RunTransitionAsync(PendingOutbox transition, CancellationToken ct)
    {
        if (await RunAsync(transition, ct).ConfigureAwait(false))
            await context.State.UpdateAsync(s => s!.TransitionDone(transition.Id), ct).ConfigureAwait(false);
    }

    /// <summary>
    /// A new transition is about to replace the rollout state's one: an unfinished one (e.g. a promotion post that failed)
    /// first joins the pending outboxes, which every tick resumes, so its remaining actions are still completed.
    /// </summary>
    public async Task ParkTransitionAsync(string replacingId, CancellationToken ct)
    {
        var (state, _) = await context.State.ReadAsync(ct).ConfigureAwait(false);
        if (state?.Transition is { } old && old.Id != replacingId) await AddPendingAsync(old, ct).ConfigureAwait(false);
    }

    /// <summary>Resumes the state's transition and every pending outbox.</summary>
    public async Task ResumeAllAsync(CancellationToken ct)
    {
        var (state, _) = await context.State.ReadAsync(ct).ConfigureAwait(false);
        if (state?.Transition is { } transition) await RunTransitionAsync(transition, ct).ConfigureAwait(false);
        var (progress, _) = await context.Progress.ReadAsync(ct).ConfigureAwait(false);
        foreach (var pending in progress?.PendingOutboxes ?? []) await RunPendingAsync(pending, ct).ConfigureAwait(false);
    }

    private async Task<bool> RunAsync(PendingOutbox pending, CancellationToken ct)
    {
        var (outbox, _) = await _runner.RunAsync(StorePaths.LifecycleOutbox(pending.Id), pending.Id, context.Now, () => pending.Plan,
            (a, c) => ExecuteAsync(pending.Id, a, c), ct).ConfigureAwait(false);
        return OutboxRunner.IsComplete(outbox);
    }

    // Every action is rebuilt from the outbox alone (subject id + action), so a later tick can finish it after a crash.
    private async Task ExecuteAsync(string subjectId, OutboxAction a, CancellationToken ct)
    {
        var flag = context.Policy.Flag;
        switch (a.Kind)
        {
            case var kind when kind == ActionKind.Slack:
                await slack.PostAsync(a.Target, a.Text, ct).ConfigureAwait(false);
                break;
            case var kind when kind == ActionKind.FlagPhase:
            {
                var (from, to) = a.Phases();
                await flags.SetPhaseAsync(new FlagPhaseRequest(flag, from, to, "promotion_approved", subjectId), ct).ConfigureAwait(false);
                break;
            }
            case var kind when kind == ActionKind.Flag:
            {
                var (from, to) = a.Phases();
                await flags.RollbackAsync(new FlagRollbackRequest(flag, from, to, "rca_overdue", subjectId), ct).ConfigureAwait(false);
                break;
            }
            case var kind when kind == ActionKind.PagerDutyPriority:
                if (pagerDuty is null) throw new DeliveryException("pagerduty-api", null, false, "PagerDuty REST API is not configured (PagerDuty:ApiToken)");
                await pagerDuty.SetPriorityAsync(a.Target, a.Text, ct).ConfigureAwait(false);
                break;
            case var kind when kind == ActionKind.Runbook:
                await Runbook.AppendOnceAsync(context.Blobs, context.Now, subjectId, context.Options.DryRun, a.Text, context.Log, ct).ConfigureAwait(false);
                break;
            default:
                throw new InvalidOperationException($"unknown lifecycle action kind {a.Kind}");
        }
    }
}
