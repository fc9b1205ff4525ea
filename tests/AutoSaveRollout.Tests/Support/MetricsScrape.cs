using System.Diagnostics.Metrics;
using AutoSaveRollout.Host.Hosting;

namespace AutoSaveRollout.Tests.Support;

/// <summary>
/// The standalone host's real <c>/metrics</c> endpoint (Kestrel on 127.0.0.1, OpenTelemetry's Prometheus exporter) over
/// one meter, scraped over HTTP.
/// </summary>
internal sealed class MetricsScrape : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly MetricsEndpoint _endpoint;

    private MetricsScrape(MetricsEndpoint endpoint) => _endpoint = endpoint;

    /// <summary>The endpoint's URL.</summary>
    public Uri Url => _endpoint.Url;

    /// <summary>Starts the endpoint on a free loopback port; it aggregates <paramref name="meter"/>'s measurements from now on.</summary>
    public static async Task<MetricsScrape> StartAsync(Meter meter) => new(await MetricsEndpoint.StartAsync(0, meter));

    /// <summary>GET <c>/metrics</c>: the response body (throws unless 200).</summary>
    public async Task<string> TextAsync()
    {
        using var response = await Http.GetAsync(Url);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The sample lines (no comments, no blank lines) of a scrape, in the exporter's order.</summary>
    public async Task<string[]> SampleLinesAsync() =>
        (await TextAsync()).Split('\n').Where(l => l.Length > 0 && !l.StartsWith('#')).ToArray();

    public ValueTask DisposeAsync() => _endpoint.DisposeAsync();
}
