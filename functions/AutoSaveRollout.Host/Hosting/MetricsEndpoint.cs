using System.Net;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Hosting.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace AutoSaveRollout.Host.Hosting;

/// <summary>
/// Serves <c>GET /metrics</c> (the exporter's text) with Kestrel bound to 127.0.0.1 only, so the endpoint is never reachable
/// from another machine. Other paths answer 404, other methods 405. Kestrel comes from the in-box ASP.NET Core shared
/// framework (no package); the empty builder reads no configuration, so <c>ASPNETCORE_URLS</c> or an appsettings
/// <c>Kestrel</c> section cannot widen the binding.
/// </summary>
public sealed class MetricsEndpoint : IAsyncDisposable
{
    /// <summary>Path of the endpoint.</summary>
    public const string Path = "/metrics";

    private readonly WebApplication _app;

    private MetricsEndpoint(WebApplication app, int port)
    {
        _app = app;
        Port = port;
    }

    /// <summary>The bound port (the chosen one when started with port 0).</summary>
    public int Port { get; }

    /// <summary>The endpoint's URL, <c>http://127.0.0.1:{port}/metrics</c>.</summary>
    public Uri Url => new($"http://127.0.0.1:{Port}{Path}");

    /// <summary>
    /// Starts listening on 127.0.0.1:<paramref name="port"/> (0: any free port). Throws <see cref="ConfigurationException"/>
    /// when the port is out of range or cannot be bound (e.g. already in use).
    /// </summary>
    public static async Task<MetricsEndpoint> StartAsync(int port, IMetricsExporter exporter, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(exporter);
        if (port is < 0 or > 65535) throw new ConfigurationException($"metrics port must be between 0 and 65535 (got {port})");
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port));
        builder.Services.AddSingleton<IHostLifetime, PassiveLifetime>(); // Ctrl-C / SIGTERM belong to the pipeline host, which disposes this
        var app = builder.Build();
        app.Run(async context =>
        {
            if (context.Request.Path != Path)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
            {
                context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
                context.Response.Headers.Allow = "GET, HEAD";
                return;
            }
            context.Response.ContentType = exporter.ContentType;
            await context.Response.WriteAsync(exporter.Render(), context.RequestAborted);
        });
        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw new ConfigurationException($"metrics port {port}: cannot listen on 127.0.0.1 ({ex.Message})");
        }
        var bound = new Uri(app.Urls.Single()).Port;
        return new MetricsEndpoint(app, bound);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class PassiveLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
