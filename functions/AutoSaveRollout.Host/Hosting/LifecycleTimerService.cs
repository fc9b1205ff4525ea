using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Ports;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Host.Hosting;

/// <summary>
/// Runs <see cref="LifecycleService.TickAsync"/> every <see cref="Interval"/> (1 minute) in the standalone host, so an
/// unacknowledged incident is escalated within a minute of its 30-minute deadline, an RCA deadline is enforced on time and an
/// approval given with <c>approve</c> leads to the move without waiting for the next window. Storage errors are logged and
/// the next tick tries again.
/// </summary>
public sealed class LifecycleTimerService(LifecycleService lifecycle, TimeProvider time, ILogger log) : BackgroundService
{
    /// <summary>Time between ticks: 1 minute.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var attempt = await lifecycle.TickAsync(stoppingToken);
                if (attempt.Outcome is MoveOutcome.Moved) log.LogInformation("lifecycle: {Phase} → {Target} ({MoveId})", attempt.Phase, attempt.Target, attempt.MoveId);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (StorageException ex)
            {
                log.LogError("lifecycle tick failed, will retry: {Error}", ex.Message);
            }
            try { await Task.Delay(Interval, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}
