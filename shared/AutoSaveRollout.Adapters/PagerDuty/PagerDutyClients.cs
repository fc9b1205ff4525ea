using AutoSaveRollout.Adapters.Http;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reliability;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Refit;

namespace AutoSaveRollout.Adapters.PagerDuty;

/// <summary>
/// Builds the PagerDuty adapters on their Refit-generated API clients (<see cref="IPagerDutyEventsApi"/>,
/// <see cref="IPagerDutyRestApi"/>; Refit 16.4 source generator, no reflection), either around an existing
/// <see cref="HttpClient"/> (<see cref="CreateEvents"/>, <see cref="CreateIncidents"/>) or through
/// <c>IHttpClientFactory</c> (<see cref="AddPagerDuty"/>). Requests, classification, <c>Retry-After</c> and redaction
/// are the same both ways.
/// </summary>
public static class PagerDutyClients
{
    /// <summary>Per-call deadline of the clients <see cref="AddPagerDuty"/> registers when none is given: 30 s.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The Refit settings of both APIs: headers are sent verbatim (no re-formatting of
    /// <c>application/vnd.pagerduty+json;version=2</c> or <c>Token token=…</c>) and transport exceptions reach the
    /// adapters unchanged, which classify them.
    /// </summary>
    internal static RefitSettings Settings() => new()
    {
        ValidateHeaders = false,
        TransportExceptionFactory = static (_, exception, _) => exception,
    };

    /// <summary>The Events API v2 adapter sending through <paramref name="http"/> (see <see cref="PagerDutyEventsClient(HttpClient, PagerDutyOptions, TimeProvider?)"/>).</summary>
    /// <exception cref="ArgumentException">Invalid options, as the constructor documents.</exception>
    public static PagerDutyEventsClient CreateEvents(HttpClient http, PagerDutyOptions options, TimeProvider? time = null) => new(http, options, time);

    /// <summary>The REST API v2 adapter sending through <paramref name="http"/> (see <see cref="PagerDutyRestClient(HttpClient, PagerDutyOptions, TimeProvider?)"/>).</summary>
    /// <exception cref="ArgumentException">Invalid options, as the constructor documents.</exception>
    public static PagerDutyRestClient CreateIncidents(HttpClient http, PagerDutyOptions options, TimeProvider? time = null) => new(http, options, time);

    /// <summary>
    /// Registers both PagerDuty APIs with <c>AddRefitGeneratedClient</c> (typed clients of <c>IHttpClientFactory</c>,
    /// base address from the options, <see cref="HttpClient.Timeout"/> = <paramref name="timeout"/>), the adapters
    /// <see cref="PagerDutyEventsClient"/> and <see cref="PagerDutyRestClient"/> as singletons, and the ports
    /// <see cref="IPagerDutyEvents"/> and <see cref="IPagerDutyIncidents"/> as those adapters inside the shared retry
    /// decorators (<see cref="ResilientPagerDutyEvents"/>, <see cref="ResilientPagerDutyIncidents"/>) with the
    /// <see cref="RetryPolicy"/> registered in the container. Everything resolves lazily: resolve
    /// <see cref="IPagerDutyIncidents"/> only when <see cref="PagerDutyOptions.ApiToken"/> is set. Existing registrations
    /// of the adapters and ports are kept (TryAdd).
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="options">The PagerDuty options (read once per resolution of each client).</param>
    /// <param name="timeout">Per-call deadline (headers and body); default <see cref="DefaultTimeout"/>.</param>
    /// <returns><paramref name="services"/>.</returns>
    /// <remarks>
    /// Resolving an adapter throws <see cref="ArgumentException"/> for invalid options (as the constructors do), and
    /// resolving a port throws <see cref="InvalidOperationException"/> when no <see cref="RetryPolicy"/> is registered.
    /// A <see cref="TimeProvider"/> in the container is used for HTTP-date <c>Retry-After</c> values.
    /// </remarks>
    public static IServiceCollection AddPagerDuty(this IServiceCollection services, Func<IServiceProvider, PagerDutyOptions> options,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(options);
        var deadline = timeout ?? DefaultTimeout;
        services.AddRefitGeneratedClient<IPagerDutyEventsApi>(Settings())
            .ConfigureHttpClient((sp, c) => { c.BaseAddress = options(sp).EventsUrl; c.Timeout = deadline; });
        services.AddRefitGeneratedClient<IPagerDutyRestApi>(Settings())
            .ConfigureHttpClient((sp, c) => { c.BaseAddress = options(sp).ApiUrl; c.Timeout = deadline; });
        services.TryAddSingleton(sp =>
            new PagerDutyEventsClient(sp.GetRequiredService<IPagerDutyEventsApi>(), options(sp), deadline, sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp =>
            new PagerDutyRestClient(sp.GetRequiredService<IPagerDutyRestApi>(), options(sp), deadline, sp.GetService<TimeProvider>()));
        services.TryAddSingleton<IPagerDutyEvents>(sp =>
            new ResilientPagerDutyEvents(sp.GetRequiredService<PagerDutyEventsClient>(), sp.GetRequiredService<RetryPolicy>()));
        services.TryAddSingleton<IPagerDutyIncidents>(sp =>
            new ResilientPagerDutyIncidents(sp.GetRequiredService<PagerDutyRestClient>(), sp.GetRequiredService<RetryPolicy>()));
        return services;
    }

    /// <summary>
    /// The generated implementation of <typeparamref name="T"/> on <paramref name="http"/>; a client without a base
    /// address (a shared one) is reached through <see cref="HttpClientForwarder"/> with <paramref name="endpoint"/> as
    /// the base address Refit requires (the requests use absolute URLs either way).
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="http"/> is null.</exception>
    internal static T Api<T>(HttpClient http, Uri endpoint) where T : class
    {
        ArgumentNullException.ThrowIfNull(http);
        return RestService.ForGenerated<T>(http.BaseAddress is null ? HttpClientForwarder.Wrap(http, endpoint) : http, Settings());
    }
}
