using System.Diagnostics;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Configuration;
using static AutoSaveRollout.Tests.Support.HttpTestSupport;

namespace AutoSaveRollout.Tests.Adapters.PagerDuty;

public sealed class PagerDutyEventsClientTests : IAsyncLifetime
{
    private const string RoutingKey = "R0UT1NGKEYsecret0123456789abcdef"; // 32 characters, like a real integration key
    private const string EnqueuePath = "/v2/enqueue";
    private RecordingServer _server = null!;

    public async Task InitializeAsync() => _server = await RecordingServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private PagerDutyEventsClient Client(HttpClient http, TimeProvider? time = null) =>
        new(http, new PagerDutyOptions { RoutingKey = RoutingKey, EventsUrl = _server.Url(EnqueuePath) }, time);

    private static PagerDutyEvent Trigger(string dedupKey = "autosave-rollout/20261120T1015Z/p95") => new(
        "trigger", dedupKey, Summary: "AutoSave P95 3.4 s > 2.5 s in phase B", Source: "autosave-rollout-monitor", Severity: "critical");

    [Fact]
    public async Task Trigger_sends_the_exact_events_v2_body_and_returns_pagerdutys_dedup_key()
    {
        _server.Enqueue(EnqueuePath, ScriptedResponse.Json(202, """{"status":"success","message":"Event processed","dedup_key":"srv-key-1"}"""));
        using var http = NewClient();
        var evt = Trigger() with
        {
            Timestamp = new DateTimeOffset(2026, 11, 20, 12, 15, 3, 250, TimeSpan.FromHours(2)),
            Component = "autosave",
            Group = "phase-B",
            Class = "latency",
            CustomDetails = new JsonObject { ["p95_s"] = 3.4, ["window"] = "20261120T1015Z", ["nested"] = new JsonObject { ["n"] = 2 } },
        };

        var key = await Client(http).SendAsync(evt);

        Assert.Equal("srv-key-1", key);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal(EnqueuePath, request.Path);
        Assert.Equal("application/json; charset=utf-8", request.Header("Content-Type"));
        Assert.Contains("application/json", request.Header("Accept"));
        var body = request.JsonBody();
        AssertKeys(body, "routing_key", "event_action", "dedup_key", "payload");
        Assert.Equal(RoutingKey, Str(body, "routing_key"));
        Assert.Equal("trigger", Str(body, "event_action"));
        Assert.Equal("autosave-rollout/20261120T1015Z/p95", Str(body, "dedup_key"));
        var payload = body!["payload"];
        AssertKeys(payload, "summary", "source", "severity", "timestamp", "component", "group", "class", "custom_details");
        Assert.Equal("AutoSave P95 3.4 s > 2.5 s in phase B", Str(payload, "summary"));
        Assert.Equal("autosave-rollout-monitor", Str(payload, "source"));
        Assert.Equal("critical", Str(payload, "severity"));
        Assert.Equal("2026-11-20T10:15:03.250Z", Str(payload, "timestamp"));
        Assert.Equal("autosave", Str(payload, "component"));
        Assert.Equal("phase-B", Str(payload, "group"));
        Assert.Equal("latency", Str(payload, "class"));
        Assert.True(JsonNode.DeepEquals(evt.CustomDetails, payload!["custom_details"]), payload["custom_details"]!.ToJsonString());
    }

    [Fact]
    public async Task Trigger_omits_null_fields_and_an_empty_dedup_key_and_returns_the_generated_key()
    {
        _server.UsePagerDutyDefaults(EnqueuePath);
        using var http = NewClient();

        var key = await Client(http).SendAsync(Trigger(dedupKey: ""));

        var body = Assert.Single(_server.Requests).JsonBody();
        AssertKeys(body, "routing_key", "event_action", "payload");
        AssertKeys(body!["payload"], "summary", "source", "severity");
        Assert.Matches("^[0-9a-f]{32}$", key); // invented by the PagerDuty-like responder
    }

    [Theory]
    [InlineData("acknowledge")]
    [InlineData("resolve")]
    public async Task Acknowledge_and_resolve_send_only_routing_key_dedup_key_and_action(string action)
    {
        _server.UsePagerDutyDefaults(EnqueuePath);
        using var http = NewClient();
        var evt = Trigger("k-42") with { EventAction = action, Component = "autosave", CustomDetails = new JsonObject { ["a"] = 1 } };

        var key = await Client(http).SendAsync(evt);

        Assert.Equal("k-42", key);
        var body = Assert.Single(_server.Requests).JsonBody();
        AssertKeys(body, "routing_key", "event_action", "dedup_key");
        Assert.Equal(action, Str(body, "event_action"));
        Assert.Equal("k-42", Str(body, "dedup_key"));
        Assert.Equal(RoutingKey, Str(body, "routing_key"));
    }

    [Fact]
    public async Task Summary_is_truncated_to_1024_characters()
    {
        _server.UsePagerDutyDefaults(EnqueuePath);
        using var http = NewClient();
        var summary = new string('s', 1023) + "TAIL";

        await Client(http).SendAsync(Trigger() with { Summary = summary });

        var sent = Str(Assert.Single(_server.Requests).JsonBody()!["payload"], "summary")!;
        Assert.Equal(1024, sent.Length);
        Assert.Equal(summary[..1024], sent);
    }

    public static TheoryData<string, PagerDutyEvent> InvalidEvents => new()
    {
        { "event_action", Trigger() with { EventAction = "escalate" } },
        { "dedup_key", Trigger(new string('k', 256)) },
        { "dedup_key", Trigger() with { EventAction = "resolve", DedupKey = "" } },
        { "severity", Trigger() with { Severity = "high" } },
        { "severity", Trigger() with { Severity = null } },
        { "severity", Trigger() with { Severity = "Critical" } },
        { "summary", Trigger() with { Summary = null } },
        { "summary", Trigger() with { Summary = "  " } },
        { "source", Trigger() with { Source = "" } },
    };

    [Theory]
    [MemberData(nameof(InvalidEvents))]
    public async Task Invalid_events_are_rejected_before_sending(string field, PagerDutyEvent evt)
    {
        using var http = NewClient();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Client(http).SendAsync(evt));

        Assert.Contains(field, ex.Message);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task A_255_character_dedup_key_is_accepted()
    {
        _server.UsePagerDutyDefaults(EnqueuePath);
        using var http = NewClient();
        var key = new string('k', 255);

        Assert.Equal(key, await Client(http).SendAsync(Trigger(key)));
    }

    [Fact]
    public async Task Status_400_is_permanent_and_quotes_pagerdutys_errors()
    {
        _server.Enqueue(EnqueuePath, ScriptedResponse.PagerDutyInvalid("'payload.severity' is invalid", $"routing key {RoutingKey} unknown"));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http).SendAsync(Trigger()));

        Assert.False(ex.IsTransient);
        Assert.Equal(400, ex.StatusCode);
        Assert.Equal("pagerduty", ex.Target);
        Assert.Equal(
            "PagerDuty rejected the trigger event: HTTP 400 Event object is invalid: 'payload.severity' is invalid; routing key [redacted] unknown",
            ex.Message);
        AssertNoSecrets(ex, RoutingKey);
    }

    [Fact]
    public async Task Status_429_is_transient_with_Retry_After()
    {
        _server.Enqueue(EnqueuePath, ScriptedResponse.TooManyRequests(30, """{"status":"throttle event","message":"Requests for this service are arriving too quickly."}"""));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http).SendAsync(Trigger()));

        Assert.True(ex.IsTransient);
        Assert.Equal(429, ex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(30), ex.RetryAfter);
        Assert.Contains("arriving too quickly", ex.Message);
        AssertNoSecrets(ex, RoutingKey);
    }

    [Fact]
    public async Task Status_429_without_Retry_After_is_transient_without_a_wait()
    {
        _server.Enqueue(EnqueuePath, ScriptedResponse.Json(429, "{}"));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http).SendAsync(Trigger()));

        Assert.True(ex.IsTransient);
        Assert.Null(ex.RetryAfter);
    }

    [Theory]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(408, true)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(413, false)]
    public async Task Statuses_are_classified(int status, bool transient)
    {
        _server.Enqueue(EnqueuePath, ScriptedResponse.Text(status, $"boom {RoutingKey}"));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http).SendAsync(Trigger()));

        Assert.Equal(transient, ex.IsTransient);
        Assert.Equal(status, ex.StatusCode);
        Assert.Contains($"HTTP {status} boom [redacted]", ex.Message);
        AssertNoSecrets(ex, RoutingKey);
    }

    [Fact]
    public async Task A_2xx_with_an_unreadable_body_returns_the_requests_dedup_key()
    {
        _server.Enqueue(EnqueuePath, ScriptedResponse.Text(202, "accepted"));
        using var http = NewClient();

        Assert.Equal("k-7", await Client(http).SendAsync(Trigger("k-7")));
    }

    [Fact]
    public async Task Timeout_is_transient_without_status()
    {
        _server.Enqueue(EnqueuePath, ScriptedResponse.Json(202, "{}") with { Delay = TimeSpan.FromSeconds(20) });
        using var http = NewClient(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        var ex = await DeliveryFailure(() => Client(http).SendAsync(Trigger()));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.True(ex.IsTransient);
        Assert.Null(ex.StatusCode);
        Assert.Contains("timed out", ex.Message);
        AssertNoSecrets(ex, RoutingKey);
    }

    [Fact]
    public async Task Connection_refused_is_transient_without_status()
    {
        using var http = NewClient();
        var client = new PagerDutyEventsClient(http, new PagerDutyOptions { RoutingKey = RoutingKey, EventsUrl = RecordingServer.UnusedLoopbackUri(EnqueuePath) });

        var ex = await DeliveryFailure(() => client.SendAsync(Trigger()));

        Assert.True(ex.IsTransient);
        Assert.Null(ex.StatusCode);
        Assert.Contains("connection failed", ex.Message);
        AssertNoSecrets(ex, RoutingKey);
    }

    [Fact]
    public void Defaults_to_the_public_events_endpoint()
    {
        Assert.Equal(new Uri("https://events.pagerduty.com/v2/enqueue"), new PagerDutyOptions().EventsUrl);
    }

    [Fact]
    public void Binds_from_configuration()
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["PagerDuty:RoutingKey"] = RoutingKey,
                ["PagerDuty:EventsUrl"] = "http://127.0.0.1:9/v2/enqueue",
            })
            .Build();

        var options = config.GetSection(PagerDutyOptions.SectionName).Get<PagerDutyOptions>()!;

        Assert.Equal(RoutingKey, options.RoutingKey);
        Assert.Equal(new Uri("http://127.0.0.1:9/v2/enqueue"), options.EventsUrl);
        Assert.DoesNotContain(RoutingKey, options.ToString());
    }

    [Theory]
    [InlineData(null, "https://events.pagerduty.com/v2/enqueue")]
    [InlineData("", "https://events.pagerduty.com/v2/enqueue")]
    [InlineData("has space" + RoutingKey, "https://events.pagerduty.com/v2/enqueue")]
    [InlineData(RoutingKey, "http://events.pagerduty.com/v2/enqueue")]
    [InlineData(RoutingKey, "https://user:pw@events.pagerduty.com/v2/enqueue")]
    public void Rejects_bad_configuration_without_echoing_the_key(string? key, string url)
    {
        using var http = NewClient();

        var ex = Assert.Throws<ArgumentException>(() =>
            new PagerDutyEventsClient(http, new PagerDutyOptions { RoutingKey = key, EventsUrl = new Uri(url) }));

        AssertNoSecrets(ex, RoutingKey);
    }

    [Fact]
    public void ToString_never_shows_the_routing_key()
    {
        using var http = NewClient();
        var options = new PagerDutyOptions { RoutingKey = RoutingKey };

        Assert.DoesNotContain(RoutingKey, options.ToString());
        Assert.DoesNotContain(RoutingKey, new PagerDutyEventsClient(http, options).ToString());
    }
}
