using System.Diagnostics.Metrics;
using System.Net;
using AutoSaveRollout.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace AutoSaveRollout.Host.Hosting;

/// <summary>
/// Serves <c>GET /metrics</c> with Kestrel bound to 127.0.0.1 only, so the endpoint is never reachable from another machine.
/// The exposition is OpenTelemetry's Prometheus exporter (OpenTelemetry.Exporter.Prometheus.AspNetCore) over an
/// OpenTelemetry <see cref="MeterProvider"/> reading one <see cref="Meter"/> instance: the Prometheus text format 0.0.4
/// (OpenMetrics 1.0 when the scraper asks for it), counters with the <c>_total</c> suffix, the unit appended to a name that
/// lacks it, no <c>target_info</c> or <c>otel_scope_*</c> labels (one meter, one process), no response cache (every
/// scrape collects anew). Other paths answer 404, other methods 405. Kestrel comes from the in-box ASP.NET Core shared
/// framework; the empty builder reads no configuration, so <c>ASPNETCORE_URLS</c> or an appsettings <c>Kestrel</c>
/// section cannot widen the binding.
/// </summary>
public sealed class MetricsEndpoint : IAsyncDisposable
{
    /// <summary>Path of the endpoint.</summary>
    public const string Path = "/metrics";

    private readonly WebApplication _app;
    private readonly MeterProvider _provider;

    private MetricsEndpoint(WebApplication app, MeterProvider provider, int port)
    {
        _app = app;
        _provider = provider;
        Port = port;
    }

    /// <summary>The bound port (the chosen one when started with port 0).</summary>
    public int Port { get; }

    /// <summary>The endpoint's URL, <c>http://127.0.0.1:{port}/metrics</c>.</summary>
    public Uri Url => new($"http://127.0.0.1:{Port}{Path}");

    /// <summary>
    /// Exports every instrument of <paramref name="meter"/> (that instance only: other meters of the same name, e.g. a
    /// parallel test's, are dropped by a view) and starts listening on 127.0.0.1:<paramref name="port"/> (0: any free
    /// port). Measurements are aggregated from this call on (cumulative). Throws <see cref="ConfigurationException"/> when
    /// the port is out of range or cannot be bound (e.g. already in use).
    /// </summary>
    public static async Task<MetricsEndpoint> StartAsync(int port, Meter meter, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(meter);
        if (port is < 0 or > 65535) throw new ConfigurationException($"metrics port must be between 0 and 65535 (got {port})");
        var provider = Sdk.CreateMeterProviderBuilder()
            .AddMeter(meter.Name)
            .AddView(instrument => ReferenceEquals(instrument.Meter, meter) ? null : MetricStreamConfiguration.Drop)
            .AddPrometheusExporter(o =>
            {
                o.ScrapeResponseCacheDurationMilliseconds = 0;
                o.TargetInfoEnabled = false;
                o.ScopeInfoEnabled = false;
            })
            .Build();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddSingleton<IHostLifetime, PassiveLifetime>(); // Ctrl-C / SIGTERM belong to the pipeline host, which disposes this
        builder.Services.AddOptions();
        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint(provider,
            context => context.Request.Path == Path && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method)),
            Path, configureBranchedPipeline: null, optionsName: null);
        app.Run(context =>
        {
            if (context.Request.Path != Path)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            }
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, HEAD";
            return Task.CompletedTask;
        });
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            provider.Dispose();
            throw new ConfigurationException($"metrics port {port}: cannot listen on 127.0.0.1 ({ex.Message})");
        }
        var bound = new Uri(app.Urls.Single()).Port;
        return new MetricsEndpoint(app, provider, bound);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
        _provider.Dispose();
    }

    private sealed class PassiveLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
