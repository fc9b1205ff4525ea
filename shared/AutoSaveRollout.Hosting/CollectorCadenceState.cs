using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.State;
using Microsoft.Extensions.Logging;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Hosting;

/// <summary>The input of <see cref="CollectorCadence"/> as both hosts' Collector timers read it.</summary>
public static class CollectorCadenceState
{
    /// <summary>
    /// Reads <see cref="RolloutState.LastRollbackAt"/> from <see cref="StorePaths.RolloutState"/>; null when there is no state
    /// or no rollback yet. Never throws for an unreadable state (storage error, malformed JSON): it logs a warning on
    /// <paramref name="log"/> and returns null, so the timer falls back to the normal schedule and keeps running. Throws
    /// <see cref="OperationCanceledException"/> only when <paramref name="ct"/> is cancelled.
    /// </summary>
    public static async Task<DateTimeOffset?> ReadLastRollbackAtAsync(IBlobStore blobs, ILogger log, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(log);
        try
        {
            var (state, _) = await new JsonRecordStore<RolloutState>(blobs, StorePaths.RolloutState).ReadAsync(ct).ConfigureAwait(false);
            return state?.LastRollbackAt;
        }
        catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
        {
            // The state only ever brings runs forward; not knowing it must not stop or delay the scheduled runs.
            // Storage and JSON messages carry no secrets (the adapters' rule); anything else is named by its type only.
            var reason = ex is StorageException or System.Text.Json.JsonException ? ex.Message : ex.GetType().Name;
            log.LogWarning("rollout state unreadable, collecting on the normal schedule: {Error}", reason);
            return null;
        }
    }
}
