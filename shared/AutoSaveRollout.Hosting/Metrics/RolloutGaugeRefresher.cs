using AutoSaveRollout.Core.Observability;
using Microsoft.Extensions.Hosting;

namespace AutoSaveRollout.Hosting.Metrics;

/// <summary>
/// Re-reads the status gauges (<see cref="RolloutGaugeReader"/>) at start and then every <see cref="Interval"/>, so that
/// what changes outside the stages (lifecycle moves, RCAs found, dead letters retried or purged by an operator) shows up
/// without waiting for the next window. A failed read is logged by the reader and retried at the next tick.
/// </summary>
public sealed class RolloutGaugeRefresher(RolloutGaugeReader reader, TimeProvider time) : BackgroundService
{
    /// <summary>Time between two reads (default 30 s).</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(30);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        try
        {
            do
            {
                await reader.RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
    }
}
