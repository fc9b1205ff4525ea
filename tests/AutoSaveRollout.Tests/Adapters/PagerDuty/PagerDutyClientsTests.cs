using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reliability;
using AutoSaveRollout.Tests.Reliability;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using static AutoSaveRollout.Tests.Support.HttpTestSupport;

namespace AutoSaveRollout.Tests.Adapters.PagerDuty;

/// <summary>
/// The two ways of building the Refit-based PagerDuty adapters (<see cref="PagerDutyClients.CreateEvents"/> /
/// <see cref="PagerDutyClients.CreateIncidents"/> around a shared <see cref="HttpClient"/>, and
/// <see cref="PagerDutyClients.AddPagerDuty"/> through <c>AddRefitGeneratedClient</c>) send the same bytes.
/// </summary>
public sealed class PagerDutyClientsTests : IAsyncLifetime
{
    private const string RoutingKey = "R0UT1NGKEYsecret0123456789abcdef";
    private const string Token = "u+T0kEn5ecret_Zx91Qw";
    private const string Key = "autosave-rollout/20261120T1015Z/p95";

    private static readonly string Priorities =
        """{"priorities":[{"id":"PPRIO01","type":"priority","name":"P1"}],"limit":100,"offset":0,"more":false}""";

    private RecordingServer _server = null!;

    public async Task InitializeAsync()
    {
        _server = await RecordingServer.StartAsync();
        _server.UsePagerDutyDefaults();
        _server.SetDefault("/incidents", ScriptedResponse.Json(200, """{"incidents":[],"more":false}"""));
        _server.SetDefault("/priorities", ScriptedResponse.Json(200, Priorities));
        _server.SetDefault("/incidents/PT4KHLK", ScriptedResponse.Json(200, """{"incident":{"id":"PT4KHLK"}}"""));
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private PagerDutyOptions Options() => new()
    {
        RoutingKey = RoutingKey, EventsUrl = _server.Url("/v2/enqueue"), ApiToken = Token, ApiUrl = _server.BaseUri, From = "rollout-bot@example.com",
    };

    private static readonly PagerDutyEvent Trigger = new("trigger", Key, "AutoSave P95 3.4 s > 2.5 s in phase B", "autosave-rollout-monitor", "critical");

    private static async Task Exercise(IPagerDutyEvents events, IPagerDutyIncidents incidents)
    {
        Assert.Equal(Key, await events.SendAsync(Trigger));
        Assert.Null(await incidents.FindByIncidentKeyAsync(Key));
        await incidents.SetPriorityAsync("PT4KHLK", "P1");
    }

    /// <summary>Everything the adapter decides about a request: method, target, headers (but Host, which names the port) and body.</summary>
    private static string Wire(RecordedRequest r) =>
        $"{r.Method} {r.RawTarget}\n" +
        string.Join("\n", r.Headers.Where(h => h.Key != "Host").OrderBy(h => h.Key, StringComparer.OrdinalIgnoreCase).Select(h => $"{h.Key}: {h.Value}")) +
        "\n\n" + r.Body;

    [Fact]
    public async Task AddPagerDuty_sends_through_AddRefitGeneratedClient_exactly_what_the_HttpClient_path_sends()
    {
        using var http = NewClient();
        await Exercise(PagerDutyClients.CreateEvents(http, Options()), PagerDutyClients.CreateIncidents(http, Options()));
        var direct = _server.Requests.Select(Wire).ToList();
        _server.ClearRequests();

        var services = new ServiceCollection();
        services.AddSingleton(new RetryPolicy(RetryPolicyTests.NoWaits()));
        services.AddPagerDuty(_ => Options(), TimeSpan.FromSeconds(10));
        await using var provider = services.BuildServiceProvider();
        await Exercise(provider.GetRequiredService<IPagerDutyEvents>(), provider.GetRequiredService<IPagerDutyIncidents>());
        var registered = _server.Requests.Select(Wire).ToList();

        Assert.Equal(4, direct.Count);
        Assert.Equal(direct, registered);
        Assert.Contains("Accept: application/vnd.pagerduty+json;version=2", registered[1]);
        Assert.Contains($"Authorization: Token token={Token}", registered[1]);
        Assert.IsType<ResilientPagerDutyEvents>(provider.GetRequiredService<IPagerDutyEvents>());
        Assert.IsType<ResilientPagerDutyIncidents>(provider.GetRequiredService<IPagerDutyIncidents>());
    }

    [Fact]
    public async Task AddPagerDuty_adapters_classify_like_the_constructed_ones()
    {
        _server.Enqueue("/v2/enqueue", ScriptedResponse.TooManyRequests(30, $$"""{"status":"throttle event","message":"too quickly {{RoutingKey}}"}"""));
        var services = new ServiceCollection();
        services.AddPagerDuty(_ => Options(), TimeSpan.FromSeconds(10));
        await using var provider = services.BuildServiceProvider();

        var ex = await DeliveryFailure(() => provider.GetRequiredService<PagerDutyEventsClient>().SendAsync(Trigger));

        Assert.True(ex.IsTransient);
        Assert.Equal(429, ex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), ex.RetryAfter);
        Assert.Equal("PagerDuty rejected the trigger event: HTTP 429 too quickly [redacted]", ex.Message);
        AssertNoSecrets(ex, RoutingKey);
    }

    [Fact]
    public async Task AddPagerDuty_rejects_invalid_options_when_the_adapter_is_resolved()
    {
        var services = new ServiceCollection();
        services.AddPagerDuty(_ => Options() with { ApiToken = null });
        await using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<ArgumentException>(() => provider.GetRequiredService<PagerDutyRestClient>());
        Assert.Contains("PagerDuty:ApiToken", ex.Message);
    }
}
