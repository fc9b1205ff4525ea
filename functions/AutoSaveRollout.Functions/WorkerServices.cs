using AutoSaveRollout.Core.Observability;
using AutoSaveRollout.Hosting.Metrics;
using System.Globalization;
using Azure.Monitor.OpenTelemetry.Exporter;
using Microsoft.Azure.Functions.Worker.OpenTelemetry;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace AutoSaveRollout.Functions;

/// <summary>The worker's own registrations besides the pipeline: dead letters on the last delivery, OpenTelemetry, the test clock.</summary>
public static class WorkerServices
{
    /// <summary>Application Insights connection string; set by <c>infra/main.bicep</c>. Without it nothing is exported.</summary>
    public const string ApplicationInsightsConnectionString = "APPLICATIONINSIGHTS_CONNECTION_STRING";

    /// <summary>
    /// For tests and local simulation only (never set in Azure): a file holding an RFC 3339 instant that the pipeline's
    /// clock shows instead of the system clock (re-read on every reading, so a test host can move it between
    /// invocations the way <c>replay</c> moves its simulated clock).
    /// </summary>
    public const string ClockFileSetting = "AutoSave:ClockFile";

    /// <summary>
    /// Registers <see cref="LastDelivery"/>; OpenTelemetry traces (the Functions worker's invocation activities) and our
    /// <see cref="PipelineMetrics.MeterName"/> meter with its status gauges (<see cref="StatusGaugeRegistration.AddStatusGauges"/>),
    /// exported to Azure Monitor, when <see cref="ApplicationInsightsConnectionString"/>
    /// is set; and the file clock when <see cref="ClockFileSetting"/> is set (before the pipeline, whose TimeProvider
    /// registration only applies when none is registered yet).
    /// </summary>
    public static IServiceCollection AddWorkerServices(this IServiceCollection services, IConfiguration config)
    {
        services.AddSingleton<LastDelivery>();
        if (config[ClockFileSetting] is { Length: > 0 } clockFile)
            services.AddSingleton<TimeProvider>(new FileClock(clockFile));
        if (!string.IsNullOrWhiteSpace(config[ApplicationInsightsConnectionString]))
        {
            services.AddOpenTelemetry()
                .UseFunctionsWorkerDefaults()
                .WithMetrics(m => m.AddMeter(PipelineMetrics.MeterName))
                .UseAzureMonitorExporter();
            services.AddStatusGauges(); // the meter and its status gauges (re-read every 30 s), see the README's Operational metrics
        }
        return services;
    }

    /// <summary>A clock read from a file (see <see cref="ClockFileSetting"/>); throws <see cref="InvalidOperationException"/> when the file holds no instant.</summary>
    private sealed class FileClock(string path) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow()
        {
            var text = File.ReadAllText(path).Trim();
            return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
                ? at.ToUniversalTime()
                : throw new InvalidOperationException($"{ClockFileSetting}: {path} holds no instant");
        }
    }
}
