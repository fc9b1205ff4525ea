using System.Net;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Support;

/// <summary>The stateful fake PagerDuty, driven through the real Events and REST clients.</summary>
public sealed class FakePagerDutyTests : IAsyncLifetime
{
    private const string Key = "autosave-rollout/20261120T1015Z/p95";
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 11, 20, 10, 15, 30, 250, TimeSpan.Zero));
    private readonly HttpClient _http = HttpTestSupport.NewClient();
    private FakePagerDuty _fake = null!;
    private PagerDutyEventsClient _events = null!;
    private PagerDutyRestClient _rest = null!;

    public async Task InitializeAsync()
    {
        _fake = await FakePagerDuty.StartAsync(_clock);
        _events = new PagerDutyEventsClient(_http, _fake.Options());
        _rest = new PagerDutyRestClient(_http, _fake.Options());
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _fake.DisposeAsync();
    }

    private Task<string> TriggerAsync(string key = Key) =>
        _events.SendAsync(new PagerDutyEvent("trigger", key, "AutoSave P95 3.4 s > 2.5 s", "autosave-rollout-monitor", "critical"));

    private static DateTimeOffset At(int hour, int minute) => new(2026, 11, 20, hour, minute, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_trigger_opens_an_incident_stamped_by_the_fakes_clock()
    {
        Assert.Equal(Key, await TriggerAsync());

        var found = await _rest.FindByIncidentKeyAsync(Key);

        var created = new DateTimeOffset(2026, 11, 20, 10, 15, 30, TimeSpan.Zero); // whole seconds, as PagerDuty reports
        Assert.Equal(new PagerDutyIncident("PINC0001", 1, "triggered", created, null, null, "https://example.pagerduty.com/incidents/PINC0001"), found);
        var incident = _fake.IncidentFor(Key)!;
        Assert.Equal(("PINC0001", "triggered", created, 1), (incident.Id, incident.Status, incident.CreatedAt, incident.Triggers));
        Assert.Null(await _rest.FindByIncidentKeyAsync("other-key"));
    }

    [Fact]
    public async Task Repeat_triggers_fold_into_the_open_incident_and_a_resolved_key_opens_a_new_one()
    {
        await TriggerAsync();
        _clock.Advance(TimeSpan.FromMinutes(5));
        await TriggerAsync();
        Assert.Equal(2, Assert.Single(_fake.Incidents).Triggers);

        await _events.SendAsync(new PagerDutyEvent("resolve", Key));
        _clock.Advance(TimeSpan.FromMinutes(5));
        await TriggerAsync();

        Assert.Equal(["resolved", "triggered"], _fake.Incidents.Select(i => i.Status));
        var newest = await _rest.FindByIncidentKeyAsync(Key);
        Assert.Equal(("PINC0002", 2, "triggered"), (newest!.Id, newest.IncidentNumber, newest.Status));
    }

    [Fact]
    public async Task Acknowledgement_is_the_response_and_stays_so_after_resolution()
    {
        await TriggerAsync();
        _fake.Acknowledge(Key, At(10, 25));
        Assert.Equal(("acknowledged", At(10, 25)), await StatusAndResponse());

        _fake.Resolve(Key, At(10, 50));
        Assert.Equal(("resolved", At(10, 25)), await StatusAndResponse());
    }

    [Fact]
    public async Task Resolution_without_acknowledgement_is_the_response()
    {
        await TriggerAsync();
        _fake.Resolve(Key, At(10, 50));

        Assert.Equal(("resolved", At(10, 50)), await StatusAndResponse());
    }

    [Fact]
    public async Task A_lapsed_acknowledgement_leaves_a_triggered_incident_unanswered_and_the_first_ack_counts_once_reacknowledged()
    {
        await TriggerAsync();
        _fake.Acknowledge(Key, At(10, 20));
        _fake.Unacknowledge(Key, At(10, 50));
        Assert.Equal(("triggered", (DateTimeOffset?)null), await StatusAndResponse());

        _fake.Acknowledge(Key, At(11, 0));
        Assert.Equal(("acknowledged", At(10, 20)), await StatusAndResponse());
    }

    [Fact]
    public async Task Events_acknowledge_and_resolve_change_the_incident_at_the_fakes_clock()
    {
        await TriggerAsync();
        _clock.SetUtcNow(At(10, 30));
        await _events.SendAsync(new PagerDutyEvent("acknowledge", Key));

        Assert.Equal(("acknowledged", At(10, 30)), await StatusAndResponse());
    }

    [Fact]
    public async Task SetPriority_changes_the_incident()
    {
        await TriggerAsync();
        var incident = await _rest.FindByIncidentKeyAsync(Key);

        await _rest.SetPriorityAsync(incident!.Id, "P1");

        Assert.Equal("P1", _fake.IncidentFor(Key)!.Priority);
        Assert.Equal("P1", (await _rest.FindByIncidentKeyAsync(Key))!.Priority);
        Assert.Empty(_fake.Rejections);
    }

    [Fact]
    public async Task Without_date_range_all_only_the_last_month_is_searched()
    {
        await TriggerAsync();
        _clock.Advance(TimeSpan.FromDays(40));

        Assert.NotNull(await _rest.FindByIncidentKeyAsync(Key)); // the client sends date_range=all
        using var request = RestRequest(HttpMethod.Get, "incidents?incident_key=" + Uri.EscapeDataString(Key));
        using var response = await _http.SendAsync(request);
        Assert.Contains("\"incidents\":[]", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_wrong_token_is_refused_with_401()
    {
        await TriggerAsync();
        var wrong = new PagerDutyRestClient(_http, _fake.Options() with { ApiToken = "wrong-token" });

        var ex = await HttpTestSupport.DeliveryFailure(() => wrong.FindByIncidentKeyAsync(Key));

        Assert.Equal(401, ex.StatusCode);
        Assert.Equal(401, Assert.Single(_fake.Rejections).Status);
    }

    [Fact]
    public async Task A_wrong_routing_key_is_refused_like_events_v2()
    {
        var wrong = new PagerDutyEventsClient(_http, _fake.Options() with { RoutingKey = "R0UTEwrong0000000000000000000000" });

        var ex = await HttpTestSupport.DeliveryFailure(() =>
            wrong.SendAsync(new PagerDutyEvent("trigger", Key, "s", "src", "critical")));

        Assert.Equal(400, ex.StatusCode);
        Assert.Contains("Invalid routing key", ex.Message);
        Assert.Empty(_fake.Incidents);
    }

    [Theory]
    [InlineData(null, FakePagerDuty.UserEmail, "application/json", HttpStatusCode.BadRequest)] // no Accept
    [InlineData("application/vnd.pagerduty+json;version=2", null, "application/json", HttpStatusCode.BadRequest)] // no From
    [InlineData("application/vnd.pagerduty+json;version=2", "someone@example.com", "application/json", HttpStatusCode.BadRequest)] // unknown user
    [InlineData("application/vnd.pagerduty+json;version=2", FakePagerDuty.UserEmail, "text/plain", HttpStatusCode.BadRequest)]
    [InlineData("application/vnd.pagerduty+json;version=2", FakePagerDuty.UserEmail, "application/json", HttpStatusCode.OK)]
    public async Task A_PUT_is_checked_like_the_real_service(string? accept, string? from, string contentType, HttpStatusCode expected)
    {
        await TriggerAsync();
        using var request = RestRequest(HttpMethod.Put, "incidents/PINC0001", accept);
        if (from is not null) request.Headers.Add("From", from);
        request.Content = new StringContent("""{"incident":{"type":"incident_reference","priority":{"id":"PPRIO02","type":"priority_reference"}}}""");
        request.Content.Headers.ContentType = new(contentType);

        using var response = await _http.SendAsync(request);

        Assert.Equal(expected, response.StatusCode);
        Assert.Equal(expected == HttpStatusCode.OK ? "P2" : null, _fake.IncidentFor(Key)!.Priority);
    }

    [Fact]
    public async Task Unknown_paths_and_incidents_are_404()
    {
        using var request = RestRequest(HttpMethod.Get, "incidents/PNOPE/log_entries");
        using var response = await _http.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private async Task<(string Status, DateTimeOffset? RespondedAt)> StatusAndResponse()
    {
        var incident = await _rest.FindByIncidentKeyAsync(Key);
        return (incident!.Status, incident.RespondedAt);
    }

    private HttpRequestMessage RestRequest(HttpMethod method, string path, string? accept = "application/vnd.pagerduty+json;version=2")
    {
        var request = new HttpRequestMessage(method, new Uri(_fake.ApiUrl, path));
        request.Headers.TryAddWithoutValidation("Authorization", "Token token=" + FakePagerDuty.ApiToken);
        if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
        return request;
    }
}
