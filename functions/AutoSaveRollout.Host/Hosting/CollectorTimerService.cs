using AutoSaveRollout.Core.Observability;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Hosting.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NCrontab;

namespace AutoSaveRollout.Host.Hosting;

/// <summary>
/// Runs the Collector on an NCRONTAB schedule (NCrontab.Signed, the library Azure Functions' TimerTrigger uses; six fields
/// include seconds, five do not), evaluated in UTC, plus the fast cadence of <see cref="CollectorCadence"/>: for 30 minutes
/// after a rollback (<see cref="RolloutState.LastRollbackAt"/>, read from <c>blobs</c>) also on every 5-minute boundary.
/// While waiting it wakes on every 5-minute boundary to re-read the state, so a rollback made after a run brings the next
/// run forward; an unreadable state means the schedule alone (logged), never a stopped timer. At start-up it back-fills
/// every window missed while the host was down, like a TimerTrigger with <c>UseMonitor</c> reporting <c>IsPastDue</c>.
/// Each run is timed and counted on <c>metrics</c> when given.
/// </summary>
public sealed class CollectorTimerService(Collector collector, IBlobStore blobs, CrontabSchedule schedule, TimeProvider time,
    ILogger<CollectorTimerService> log, PipelineMetrics? metrics = null)
    : BackgroundService
{
    /// <summary>Default schedule: every 15 minutes at second 0 (<c>0 */15 * * * *</c>).</summary>
    public const string DefaultSchedule = "0 */15 * * * *";

    private bool _fast;
    private DateTimeOffset? _announced;

    /// <summary>Parses an NCRONTAB expression (6 fields with seconds, or 5 without). Throws <see cref="CrontabException"/> when invalid.</summary>
    public static CrontabSchedule ParseSchedule(string expression)
    {
        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        return CrontabSchedule.Parse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = fields == 6 });
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var collected = metrics is null
                    ? await collector.CollectDueAsync(stoppingToken)
                    : await MeteredPipeline.CollectDueAsync(collector, metrics, stoppingToken);
                foreach (var m in collected)
                    log.LogInformation("collected {Window}: {Completed} completed, {Errors} errors, {Rejected} rejected, latency {Latency:0.0}s",
                        $"{m.WindowStart:u}", m.Counts.GetValueOrDefault("autosave.save.completed"), m.Counts.GetValueOrDefault("autosave.save.error"),
                        m.Rejected, m.CollectorLatencyS);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is TelemetrySourceException or StorageException)
            {
                log.LogError("collection failed, will retry at the next occurrence: {Error}", ex.Message);
            }
            try { await WaitForNextRunAsync(stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }

    private DateTimeOffset Scheduled(DateTimeOffset after) => new(schedule.GetNextOccurrence(after.UtcDateTime), TimeSpan.Zero);

    // The next run is CollectorCadence.NextRun from the end of the last run, recomputed at every 5-minute boundary with the
    // rollout state read again: a rollback at 10:15:40, after the 10:15 run, makes 10:20 a run, seen when waking at 10:20.
    private async Task WaitForNextRunAsync(CancellationToken ct)
    {
        var after = time.GetUtcNow();
        DateTimeOffset? logged = null;
        while (true)
        {
            var lastRollbackAt = await CollectorCadenceState.ReadLastRollbackAtAsync(blobs, log, ct);
            var now = time.GetUtcNow();
            var next = CollectorCadence.NextRun(after, lastRollbackAt, Scheduled);
            NoteCadence(now, lastRollbackAt, next < Scheduled(after));
            if (next <= now) return;
            if (next != logged)
            {
                log.LogInformation("next collection at {Next:u}", next);
                logged = next;
            }
            var boundary = CollectorCadence.NextBoundary(now);
            var wake = next < boundary ? next : boundary;
            log.LogDebug("waiting until {Wake:u}", wake);
            await Task.Delay(wake - now, time, ct);
        }
    }

    // Logs the switches between the cadences: fast while inside a rollback's fast period or while the next run is an extra one.
    private void NoteCadence(DateTimeOffset now, DateTimeOffset? lastRollbackAt, bool extraRunPlanned)
    {
        var fast = extraRunPlanned || CollectorCadence.IsFast(now, lastRollbackAt);
        if (fast && lastRollbackAt is { } r && (!_fast || _announced != r))
            log.LogInformation("rollback at {Rollback:u}: collecting every {Fast} minutes until {Until:u}, then on the schedule again",
                r, CollectorCadence.Fast.TotalMinutes, r + CollectorCadence.FastFor);
        else if (!fast && _fast)
            log.LogInformation("fast collection after the rollback at {Rollback:u} is over: collecting on the schedule again", _announced);
        (_fast, _announced) = (fast, fast ? lastRollbackAt : null);
    }
}

/// <summary>Runs a <see cref="QueueProcessor"/> until the host stops (a QueueTrigger in the standalone host).</summary>
public sealed class QueueWorkerService(QueueProcessor processor) : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => processor.RunAsync(stoppingToken);
}
