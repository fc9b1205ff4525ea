using AutoSaveRollout.Core.Observability;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Hosting.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NCrontab;

namespace AutoSaveRollout.Host.Hosting;

/// <summary>
/// Runs the Collector on an NCRONTAB schedule (NCrontab.Signed, the library Azure Functions' TimerTrigger uses; six fields
/// include seconds, five do not), evaluated in UTC. At start-up it back-fills every window missed while the host was down,
/// like a TimerTrigger with <c>UseMonitor</c> reporting <c>IsPastDue</c>. Each run is timed and counted on <c>metrics</c> when given.
/// </summary>
public sealed class CollectorTimerService(Collector collector, CrontabSchedule schedule, TimeProvider time, ILogger<CollectorTimerService> log,
    PipelineMetrics? metrics = null)
    : BackgroundService
{
    /// <summary>Default schedule: every 15 minutes at second 0 (<c>0 */15 * * * *</c>).</summary>
    public const string DefaultSchedule = "0 */15 * * * *";

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
            var now = time.GetUtcNow();
            var next = new DateTimeOffset(schedule.GetNextOccurrence(now.UtcDateTime), TimeSpan.Zero);
            log.LogInformation("next collection at {Next:u}", next);
            try { await Task.Delay(next - now, time, stoppingToken); }
            catch (OperationCanceledException) { return; }
        }
    }
}

/// <summary>Runs a <see cref="QueueProcessor"/> until the host stops (a QueueTrigger in the standalone host).</summary>
public sealed class QueueWorkerService(QueueProcessor processor) : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken) => processor.RunAsync(stoppingToken);
}
