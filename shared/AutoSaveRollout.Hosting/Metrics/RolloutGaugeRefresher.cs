using AutoSaveRollout.Core.Observability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

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

/// <summary>Registration of the status gauges, shared by the standalone host and the Functions app.</summary>
public static class StatusGaugeRegistration
{
    /// <summary>
    /// Registers <paramref name="metrics"/> (else a <see cref="PipelineMetrics"/> on the registered
    /// <see cref="System.Diagnostics.Metrics.IMeterFactory"/> and <see cref="TimeProvider"/>), a
    /// <see cref="RolloutGaugeReader"/> over the registered <see cref="PipelinePorts"/> (blobs and queues) and a
    /// <see cref="RolloutGaugeRefresher"/> that re-reads the gauges at start and every 30 s.
    /// </summary>
    public static IServiceCollection AddStatusGauges(this IServiceCollection services, PipelineMetrics? metrics = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (metrics is not null) services.AddSingleton(metrics);
        else
            services.AddSingleton(sp => new PipelineMetrics(sp.GetService<TimeProvider>() ?? TimeProvider.System,
                sp.GetService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton(sp =>
        {
            var ports = sp.GetRequiredService<PipelinePorts>();
            return new RolloutGaugeReader(ports.Blobs, ports.Queues, sp.GetService<TimeProvider>() ?? TimeProvider.System,
                sp.GetRequiredService<PipelineMetrics>(), sp.GetService<ILoggerFactory>()?.CreateLogger("Metrics.Gauges"));
        });
        services.AddSingleton<IHostedService>(sp =>
            new RolloutGaugeRefresher(sp.GetRequiredService<RolloutGaugeReader>(), sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return services;
    }
}
