using AutoSaveRollout.Core.Ports;
using Microsoft.Extensions.Logging;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Core.Outboxes;

/// <summary>
/// Runs an outbox (<see cref="Outbox"/>, a JSON blob): the outward actions of one subject (a decision, a collector
/// incident, a promotion, a step back, an escalation, a daily report), planned once and then attempted in order, each
/// recorded before and after the attempt, so a retried run never repeats a completed action. Actions are independent (a
/// failed one does not stop the next), except a <see cref="ActionKind.Runbook"/> line, which waits for a completed
/// <see cref="ActionKind.Flag"/> call. In dry-run every action is recorded as <see cref="ActionStatus.DryRun"/> and only
/// runbook lines are written. Every outcome is appended to <see cref="StorePaths.Notifications"/>.
/// </summary>
public sealed class OutboxRunner(IBlobStore blobs, TimeProvider time, bool dryRun, ILogger log)
{
    /// <summary>
    /// Plans the outbox at <paramref name="outboxPath"/> with <paramref name="plan"/> when it does not exist yet (a
    /// dry-run flag is fixed at planning), then attempts every action not done. Returns the final outbox and the actions
    /// that failed in this pass (with whether the failure was transient). Only <see cref="DeliveryException"/> is caught.
    /// </summary>
    public async Task<(Outbox Final, List<(OutboxAction Action, bool Transient)> Failures)> RunAsync(string outboxPath, string subjectId,
        DateTimeOffset windowStart, Func<IReadOnlyList<OutboxAction>> plan, Func<OutboxAction, CancellationToken, Task> execute, CancellationToken ct)
    {
        var outboxStore = new JsonRecordStore<Outbox>(blobs, outboxPath);
        var outbox = await outboxStore.UpdateAsync(o => o ?? new Outbox
        {
            DecisionId = subjectId,
            DryRun = dryRun,
            Actions = plan(),
        }, ct).ConfigureAwait(false);

        var failures = new List<(OutboxAction Action, bool Transient)>();
        foreach (var planned in outbox.Actions)
        {
            var action = (await outboxStore.ReadAsync(ct).ConfigureAwait(false)).Value!.Actions.Single(a => a.Id == planned.Id);
            if (action.Status.IsFinished) continue;
            if (action.Kind == ActionKind.Runbook && !await FlagCallCompletedAsync(outboxStore, ct).ConfigureAwait(false)) continue;

            OutboxAction result;
            if (outbox.DryRun)
            {
                if (action.Kind == ActionKind.Runbook) await execute(action, ct).ConfigureAwait(false);
                result = action with { Status = ActionStatus.DryRun, CompletedAt = time.GetUtcNow() };
            }
            else
            {
                var attempt = action with { Status = ActionStatus.Pending, Attempts = action.Attempts + 1 };
                await SaveActionAsync(outboxStore, attempt, ct).ConfigureAwait(false);
                try
                {
                    await execute(attempt, ct).ConfigureAwait(false);
                    result = attempt with { Status = ActionStatus.Done, LastError = null, CompletedAt = time.GetUtcNow() };
                }
                catch (DeliveryException ex)
                {
                    log.LogError("report {DecisionId}: {Action} ({Target}) failed, attempt {Attempt}: {Error}", subjectId, action.Id, action.Target,
                        attempt.Attempts, ex.Message); // one error line per failed action attempt
                    result = attempt with { Status = ActionStatus.Failed, LastError = $"{ex.Target}: {ex.Message}" };
                    failures.Add((result, ex.IsTransient));
                }
            }
            await SaveActionAsync(outboxStore, result, ct).ConfigureAwait(false);
            await LogNotificationAsync(subjectId, windowStart, result, ct).ConfigureAwait(false);
        }

        return ((await outboxStore.ReadAsync(ct).ConfigureAwait(false)).Value!, failures);
    }

    /// <summary>True when every action of <paramref name="outbox"/> is done (or recorded in dry-run).</summary>
    public static bool IsComplete(Outbox outbox) => outbox.Actions.All(a => a.Status.IsFinished);

    private static async Task<bool> FlagCallCompletedAsync(JsonRecordStore<Outbox> store, CancellationToken ct)
    {
        var (o, _) = await store.ReadAsync(ct).ConfigureAwait(false);
        return o!.Actions.Any(a => a.Kind == ActionKind.Flag && a.Status.IsFinished);
    }

    private static Task SaveActionAsync(JsonRecordStore<Outbox> store, OutboxAction action, CancellationToken ct) =>
        store.UpdateAsync(o => o! with { Actions = o.Actions.Select(a => a.Id == action.Id ? action : a).ToList() }, ct);

    private async Task LogNotificationAsync(string subjectId, DateTimeOffset windowStart, OutboxAction a, CancellationToken ct)
    {
        var entry = new
        {
            at = time.GetUtcNow(),
            decision_id = subjectId,
            window_start = windowStart,
            action_id = a.Id,
            kind = a.Kind,
            target = a.Target,
            template = a.Template,
            text = a.Text,
            status = a.Status,
            error = a.LastError,
        };
        await blobs.AppendReadableJsonLineAsync(StorePaths.Notifications, entry, ct).ConfigureAwait(false); // emoji as UTF-8 (issue 10)
    }
}
