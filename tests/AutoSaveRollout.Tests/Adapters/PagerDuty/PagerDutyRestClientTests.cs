using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Configuration;
using static AutoSaveRollout.Tests.Support.HttpTestSupport;

namespace AutoSaveRollout.Tests.Adapters.PagerDuty;

public sealed class PagerDutyRestClientTests : IAsyncLifetime
{
    private const string Token = "u+T0kEn5ecret_Zx91Qw";
    private const string From = "rollout-bot@example.com";
    private const string Key = "autosave-rollout/20261120T1015Z/p95";
    private const string Accept = "application/vnd.pagerduty+json;version=2";
    private const string ExpectedLookup =
        "/incidents?incident_key=autosave-rollout%2F20261120T1015Z%2Fp95&date_range=all" +
        "&statuses%5B%5D=triggered&statuses%5B%5D=acknowledged&statuses%5B%5D=resolved&sort_by=created_at:desc";

    private static readonly string Priorities = """
        {"priorities":[
          {"id":"PPRIO01","type":"priority","summary":"P1","name":"P1","description":"Critical"},
          {"id":"PPRIO02","type":"priority","summary":"P2","name":"P2"},
          {"id":"PPRIO03","type":"priority","summary":"P3","name":"P3"}],
         "limit":100,"offset":0,"more":false,"total":null}
        """;

    private RecordingServer _server = null!;

    public async Task InitializeAsync() => _server = await RecordingServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private PagerDutyRestClient Client(HttpClient http, TimeProvider? time = null) =>
        new(http, new PagerDutyOptions { ApiToken = Token, ApiUrl = _server.BaseUri, From = From }, time);

    private static string Incident(string id, string status, string createdAt, string? priority = null, string acks = "[]") => $$"""
        {"id":"{{id}}","type":"incident","summary":"[#1234] AutoSave P95","incident_number":1234,"created_at":"{{createdAt}}",
         "status":"{{status}}","incident_key":"{{Key}}","html_url":"https://acme.pagerduty.com/incidents/{{id}}",
         "priority":{{priority ?? "null"}},"acknowledgements":{{acks}},"last_status_change_at":"2026-11-20T10:40:00Z"}
        """;

    private static ScriptedResponse Incidents(params string[] incidents) =>
        ScriptedResponse.Json(200, $$"""{"incidents":[{{string.Join(",", incidents)}}],"limit":25,"offset":0,"more":false,"total":null}""");

    private static ScriptedResponse Log(bool more, params (string Type, string At)[] entries) =>
        ScriptedResponse.Json(200, new JsonObject
        {
            ["log_entries"] = new JsonArray(entries.Select(e => (JsonNode)new JsonObject { ["type"] = e.Type, ["created_at"] = e.At }).ToArray()),
            ["limit"] = 100, ["more"] = more,
        }.ToJsonString());

    private static DateTimeOffset Utc(string s) => DateTimeOffset.Parse(s, null, System.Globalization.DateTimeStyles.AssumeUniversal);

    private static void AssertRestHeaders(RecordedRequest request)
    {
        Assert.Equal("Token token=" + Token, request.Header("Authorization"));
        Assert.Equal(Accept, request.Header("Accept"));
    }

    [Fact]
    public async Task Find_sends_one_exact_GET_and_parses_a_triggered_incident_without_a_response()
    {
        _server.Enqueue("/incidents", Incidents(Incident("PT4KHLK", "triggered", "2026-11-20T10:15:42Z",
            priority: """{"id":"PPRIO02","type":"priority_reference","summary":"P2"}""")));
        using var http = NewClient();

        var incident = await Client(http).FindByIncidentKeyAsync(Key);

        Assert.Equal(new PagerDutyIncident("PT4KHLK", 1234, "triggered", Utc("2026-11-20T10:15:42Z"), null, "P2",
            "https://acme.pagerduty.com/incidents/PT4KHLK"), incident);
        var request = Assert.Single(_server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal(ExpectedLookup, request.RawTarget);
        AssertRestHeaders(request);
        Assert.Null(request.Header("From"));
        Assert.Null(request.Header("Content-Type"));
        Assert.Empty(request.BodyBytes);
    }

    [Fact]
    public async Task Find_returns_null_when_no_incident_has_the_key()
    {
        _server.Enqueue("/incidents", Incidents());
        using var http = NewClient();

        Assert.Null(await Client(http).FindByIncidentKeyAsync(Key));
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task Find_takes_the_newest_incident_when_the_key_was_reused_and_reads_a_null_priority()
    {
        _server.Enqueue("/incidents", Incidents(
            Incident("POLD", "triggered", "2026-11-20T09:00:00Z"), Incident("PNEW", "triggered", "2026-11-20T11:00:00+01:00"),
            Incident("PMID", "triggered", "2026-11-20T09:30:00Z")));
        using var http = NewClient();

        var incident = await Client(http).FindByIncidentKeyAsync(Key);

        Assert.Equal("PNEW", incident!.Id);
        Assert.Equal(Utc("2026-11-20T10:00:00Z"), incident.CreatedAt);
        Assert.Equal(TimeSpan.Zero, incident.CreatedAt.Offset);
        Assert.Null(incident.Priority);
    }

    [Fact]
    public async Task Acknowledged_incident_reads_the_earliest_acknowledgement_from_every_page_of_its_log()
    {
        _server.Enqueue("/incidents", Incidents(Incident("PT4KHLK", "acknowledged", "2026-11-20T10:15:00Z",
            acks: """[{"at":"2026-11-20T10:40:00Z","acknowledger":{"type":"user_reference"}}]""")));
        // Newest first, as a log may come; the first acknowledgement lapsed (ack timeout) and sits on the second page.
        _server.Enqueue("/incidents/PT4KHLK/log_entries",
            Log(more: true, ("acknowledge_log_entry", "2026-11-20T10:40:00Z"), ("unacknowledge_log_entry", "2026-11-20T10:35:00Z")),
            Log(more: false, ("acknowledge_log_entry", "2026-11-20T10:20:00Z"), ("trigger_log_entry", "2026-11-20T10:15:00Z")));
        using var http = NewClient();

        var incident = await Client(http).FindByIncidentKeyAsync(Key);

        Assert.Equal(Utc("2026-11-20T10:20:00Z"), incident!.RespondedAt);
        Assert.Equal("acknowledged", incident.Status);
        var logs = _server.RequestsTo("/incidents/PT4KHLK/log_entries");
        Assert.Equal(["/incidents/PT4KHLK/log_entries?limit=100&offset=0", "/incidents/PT4KHLK/log_entries?limit=100&offset=2"],
            logs.Select(r => r.RawTarget));
        Assert.All(logs, AssertRestHeaders);
        Assert.Equal(3, _server.Requests.Count);
    }

    [Fact]
    public async Task Resolved_incident_without_acknowledgement_responded_when_it_was_resolved()
    {
        _server.Enqueue("/incidents", Incidents(Incident("PT4KHLK", "resolved", "2026-11-20T10:15:00Z")));
        _server.Enqueue("/incidents/PT4KHLK/log_entries",
            Log(more: false, ("resolve_log_entry", "2026-11-20T10:50:00Z"), ("notify_log_entry", "2026-11-20T10:16:00Z"), ("trigger_log_entry", "2026-11-20T10:15:00Z")));
        using var http = NewClient();

        var incident = await Client(http).FindByIncidentKeyAsync(Key);

        Assert.Equal(Utc("2026-11-20T10:50:00Z"), incident!.RespondedAt);
    }

    [Fact]
    public async Task Resolved_incident_that_was_acknowledged_responded_at_the_acknowledgement()
    {
        // A resolved incident's acknowledgements[] is empty (api-schema), so only the log knows.
        _server.Enqueue("/incidents", Incidents(Incident("PT4KHLK", "resolved", "2026-11-20T10:15:00Z")));
        _server.Enqueue("/incidents/PT4KHLK/log_entries",
            Log(more: false, ("resolve_log_entry", "2026-11-20T10:50:00Z"), ("acknowledge_log_entry", "2026-11-20T10:25:00Z")));
        using var http = NewClient();

        Assert.Equal(Utc("2026-11-20T10:25:00Z"), (await Client(http).FindByIncidentKeyAsync(Key))!.RespondedAt);
    }

    [Fact]
    public async Task A_log_without_acknowledge_or_resolve_entries_falls_back_to_the_incidents_own_fields()
    {
        _server.Enqueue("/incidents", Incidents(Incident("PACK", "acknowledged", "2026-11-20T10:15:00Z",
            acks: """[{"at":"2026-11-20T10:33:00Z"},{"at":"2026-11-20T10:31:00Z"}]""")));
        _server.Enqueue("/incidents/PACK/log_entries", Log(more: false, ("trigger_log_entry", "2026-11-20T10:15:00Z")));
        using var http = NewClient();

        Assert.Equal(Utc("2026-11-20T10:31:00Z"), (await Client(http).FindByIncidentKeyAsync(Key))!.RespondedAt);
    }

    [Fact]
    public async Task SetPriority_looks_up_the_priority_id_then_PUTs_the_exact_body_with_From()
    {
        _server.Enqueue("/priorities", ScriptedResponse.Json(200, Priorities));
        _server.SetDefault("/incidents/PT4KHLK", ScriptedResponse.Json(200, $$"""{"incident":{{Incident("PT4KHLK", "triggered", "2026-11-20T10:15:00Z")}}}"""));
        using var http = NewClient();

        await Client(http).SetPriorityAsync("PT4KHLK", "P1");

        Assert.Equal(["GET /priorities?limit=100&offset=0", "PUT /incidents/PT4KHLK"], _server.Requests.Select(r => $"{r.Method} {r.RawTarget}"));
        Assert.All(_server.Requests, AssertRestHeaders);
        var put = _server.Requests[1];
        Assert.Equal("application/json", put.Header("Content-Type"));
        Assert.Equal(From, put.Header("From"));
        Assert.Equal("""{"incident":{"type":"incident_reference","priority":{"id":"PPRIO01","type":"priority_reference"}}}""", put.Body);
    }

    [Fact]
    public async Task The_priority_list_is_read_once_per_client()
    {
        _server.Enqueue("/priorities", ScriptedResponse.Json(200, Priorities));
        _server.SetFallback(ScriptedResponse.Json(200, """{"incident":{}}"""));
        using var http = NewClient();
        var client = Client(http);

        await client.SetPriorityAsync("PA", "P1");
        await client.SetPriorityAsync("PB", "p2"); // names match ignoring case when no exact match exists

        Assert.Single(_server.RequestsTo("/priorities"));
        Assert.Equal("PPRIO02", _server.RequestsTo("/incidents/PB").Single().JsonBody()!["incident"]!["priority"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task The_most_severe_of_priorities_sharing_a_name_wins_and_the_list_is_paged()
    {
        _server.Enqueue("/priorities",
            ScriptedResponse.Json(200, """{"priorities":[{"id":"PSEV1","name":"SEV"}],"more":true}"""),
            ScriptedResponse.Json(200, """{"priorities":[{"id":"PSEV2","name":"SEV"}],"more":false}"""));
        _server.SetFallback(ScriptedResponse.Json(200, """{"incident":{}}"""));
        using var http = NewClient();

        await Client(http).SetPriorityAsync("PA", "SEV");

        Assert.Equal("/priorities?limit=100&offset=1", _server.RequestsTo("/priorities")[1].RawTarget);
        Assert.Equal("PSEV1", _server.RequestsTo("/incidents/PA").Single().JsonBody()!["incident"]!["priority"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task An_unknown_priority_name_is_permanent_names_the_available_ones_and_sends_no_PUT()
    {
        _server.Enqueue("/priorities", ScriptedResponse.Json(200, Priorities));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http).SetPriorityAsync("PT4KHLK", "P0"));

        Assert.False(ex.IsTransient);
        Assert.Null(ex.StatusCode);
        Assert.Equal("pagerduty-api", ex.Target);
        Assert.Contains("'P0'", ex.Message);
        Assert.Contains("available: P1, P2, P3", ex.Message);
        Assert.Single(_server.Requests);
    }

    [Fact]
    public async Task The_incident_id_is_escaped_in_the_path()
    {
        _server.Enqueue("/priorities", ScriptedResponse.Json(200, Priorities));
        _server.SetFallback(ScriptedResponse.Json(200, """{"incident":{}}"""));
        using var http = NewClient();

        await Client(http).SetPriorityAsync("P/1 ?x", "P1");

        Assert.Equal("/incidents/P%2F1%20%3Fx", _server.Requests[1].RawTarget);
    }

    [Theory]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(402, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(503, true)]
    public async Task Http_failures_are_classified(int status, bool transient)
    {
        _server.Enqueue("/incidents", ScriptedResponse.Json(status,
            """{"error":{"message":"Invalid Input Provided","code":2001,"errors":["incident_key is odd"]}}"""));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http).FindByIncidentKeyAsync(Key));

        Assert.Equal(status, ex.StatusCode);
        Assert.Equal(transient, ex.IsTransient);
        Assert.Equal("pagerduty-api", ex.Target);
        Assert.Contains($"HTTP {status}", ex.Message);
        Assert.Contains("Invalid Input Provided: incident_key is odd", ex.Message);
        Assert.Contains(Key, ex.Message);
    }

    [Fact]
    public async Task A_429_waits_for_ratelimit_reset_unless_Retry_After_is_given()
    {
        _server.Enqueue("/incidents",
            ScriptedResponse.Json(429, """{"error":{"message":"Rate Limit Exceeded","code":2020}}""") with
                { Headers = new Dictionary<string, string> { ["ratelimit-limit"] = "960", ["ratelimit-remaining"] = "0", ["ratelimit-reset"] = "20" } },
            ScriptedResponse.Json(429, "{}") with { Headers = new Dictionary<string, string> { ["Retry-After"] = "3", ["ratelimit-reset"] = "20" } });
        using var http = NewClient();
        var client = Client(http);

        Assert.Equal(TimeSpan.FromSeconds(20), (await DeliveryFailure(() => client.FindByIncidentKeyAsync(Key))).RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(3), (await DeliveryFailure(() => client.FindByIncidentKeyAsync(Key))).RetryAfter);
    }

    [Fact]
    public async Task A_permanent_failure_carries_no_retry_after()
    {
        _server.Enqueue("/incidents", ScriptedResponse.Json(403, "{}") with { Headers = new Dictionary<string, string> { ["ratelimit-reset"] = "20" } });
        using var http = NewClient();

        Assert.Null((await DeliveryFailure(() => Client(http).FindByIncidentKeyAsync(Key))).RetryAfter);
    }

    [Fact]
    public async Task The_token_never_appears_in_messages_even_when_the_server_echoes_it()
    {
        _server.SetFallback(ScriptedResponse.Json(401,
            $$$"""{"error":{"message":"Authentication failed","code":2006,"errors":["token {{{Token}}} (header 'Token token={{{Token}}}') is not valid"]}}"""));
        using var http = NewClient();
        var client = Client(http);

        var find = await DeliveryFailure(() => client.FindByIncidentKeyAsync(Key));
        var set = await DeliveryFailure(() => client.SetPriorityAsync("PT4KHLK", "P1"));

        foreach (var ex in new[] { find, set })
        {
            AssertNoSecrets(ex, Token);
            Assert.False(ex.IsTransient);
            Assert.Contains("PagerDuty:ApiToken was not accepted", ex.Message);
            Assert.Contains("token [redacted]", ex.Message);
        }
    }

    [Fact]
    public async Task Connection_refused_and_timeouts_are_transient_without_status()
    {
        using var http = NewClient(TimeSpan.FromMilliseconds(300));
        var refused = new PagerDutyRestClient(http, new PagerDutyOptions { ApiToken = Token, ApiUrl = RecordingServer.UnusedLoopbackUri(), From = From });
        _server.Enqueue("/incidents", ScriptedResponse.Json(200, "{}") with { Delay = TimeSpan.FromSeconds(30) });

        var ex1 = await DeliveryFailure(() => refused.FindByIncidentKeyAsync(Key));
        var ex2 = await DeliveryFailure(() => Client(http).FindByIncidentKeyAsync(Key));

        foreach (var ex in new[] { ex1, ex2 })
        {
            Assert.True(ex.IsTransient);
            Assert.Null(ex.StatusCode);
            AssertNoSecrets(ex, Token);
        }
        Assert.Contains("timed out", ex2.Message);
    }

    [Theory]
    [InlineData("<html>proxy</html>")]
    [InlineData("""{"incidents":[{"id":"PX","status":"triggered"}]}""")]
    [InlineData("""{"unexpected":true}""")]
    public async Task A_success_body_that_is_not_the_documented_json_is_a_permanent_failure(string body)
    {
        _server.Enqueue("/incidents", ScriptedResponse.Json(200, body));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http).FindByIncidentKeyAsync(Key));

        Assert.False(ex.IsTransient);
        Assert.Equal("pagerduty-api", ex.Target);
    }

    [Fact]
    public async Task Caller_cancellation_propagates_unchanged()
    {
        _server.Enqueue("/incidents", ScriptedResponse.Json(200, "{}") with { Delay = TimeSpan.FromSeconds(30) });
        using var http = NewClient();
        using var cts = new CancellationTokenSource();
        var call = Client(http).FindByIncidentKeyAsync(Key, cts.Token);
        await _server.WaitForRequestsAsync("/incidents", 1, TimeSpan.FromSeconds(10));
        cts.Cancel();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
    }

    [Theory]
    [InlineData(null, "https://api.pagerduty.com", From, "PagerDuty:ApiToken")]
    [InlineData("tok en", "https://api.pagerduty.com", From, "whitespace")]
    [InlineData(Token, "http://api.pagerduty.com", From, "https")]
    [InlineData(Token, "https://user:pw@api.pagerduty.com", From, "credentials")]
    [InlineData(Token, "https://api.pagerduty.com/?x=1", From, "query")]
    [InlineData(Token, "https://api.pagerduty.com", null, "PagerDuty:From")]
    [InlineData(Token, "https://api.pagerduty.com", "Bot <bot@example.com>", "plain email")]
    [InlineData(Token, "https://api.pagerduty.com", "not-an-email", "plain email")]
    public void Invalid_options_are_refused_without_echoing_the_token(string? token, string apiUrl, string? from, string expected)
    {
        using var http = NewClient();

        var ex = Assert.Throws<ArgumentException>(() =>
            new PagerDutyRestClient(http, new PagerDutyOptions { ApiToken = token, ApiUrl = new Uri(apiUrl), From = from }));

        Assert.Contains(expected, ex.Message);
        AssertNoSecrets(ex, Token);
    }

    [Fact]
    public void Defaults_and_ToString_never_show_the_token()
    {
        var options = new PagerDutyOptions { ApiToken = Token, RoutingKey = "R0UTINGsecret", From = From };
        using var http = NewClient();

        Assert.Equal(new Uri("https://api.pagerduty.com"), options.ApiUrl);
        Assert.Equal("P1", options.EscalationPriority);
        Assert.DoesNotContain(Token, options.ToString());
        Assert.DoesNotContain("R0UTINGsecret", options.ToString());
        Assert.Contains(From, options.ToString());
        Assert.Equal("PagerDutyRestClient https://api.pagerduty.com", new PagerDutyRestClient(http, options).ToString());
    }
}

/// <summary><see cref="PipelineFactory"/> wires the REST client only when <c>PagerDuty:ApiToken</c> is set.</summary>
public sealed class PagerDutyRestWiringTests : IAsyncLifetime, IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("autosave-pdrest-").FullName;
    private readonly RolloutPolicy _policy = PolicyLoader.LoadFile(RepoFiles.PointPolicy);
    private readonly ManualTimeProvider _clock = new();
    private FakePagerDuty _pagerDuty = null!;

    public async Task InitializeAsync() => _pagerDuty = await FakePagerDuty.StartAsync(_clock);

    public async Task DisposeAsync() => await _pagerDuty.DisposeAsync();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private IConfiguration Config(bool escalationWebhook = true, params (string Key, string? Value)[] overrides)
    {
        var values = new Dictionary<string, string?>(_pagerDuty.Settings())
        {
            ["Slack:Webhooks:autosave_rollout"] = "https://hooks.slack.com/services/T0/B0/okhook",
            ["Slack:Webhooks:incident_autosave"] = "https://hooks.slack.com/services/T0/B1/inchook",
            ["FlagService:BaseUrl"] = "https://flags.example.com",
            ["FlagService:Token"] = "fl4gT0ken",
        };
        if (escalationWebhook) values["Slack:Webhooks:incident"] = "https://hooks.slack.com/services/T0/B2/eschook";
        foreach (var (key, value) in overrides) values[key] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    private PipelinePorts Ports(IConfiguration config, bool dryRun = false) =>
        PipelineFactory.CreatePorts(config, Path.Combine(_dir, "store"), _clock, dryRun, _policy);

    [Fact]
    public async Task With_an_api_token_the_ports_carry_a_working_incidents_client_and_the_escalation_priority()
    {
        var ports = Ports(Config(true, ("PagerDuty:EscalationPriority", "P2")));
        await ports.PagerDuty.SendAsync(new PagerDutyEvent("trigger", "k-1", "AutoSave P95 3.4 s", "autosave-rollout-monitor", "critical"));

        var incident = await ports.PagerDutyIncidents!.FindByIncidentKeyAsync("k-1");
        await ports.PagerDutyIncidents.SetPriorityAsync(incident!.Id, ports.EscalationPriority);

        Assert.Equal("P2", ports.EscalationPriority);
        Assert.Equal("P2", _pagerDuty.IncidentFor("k-1")!.Priority);
        Assert.Empty(_pagerDuty.Rejections);
    }

    [Fact]
    public void Without_an_api_token_there_is_no_incidents_client_and_no_escalation_webhook_is_needed()
    {
        var ports = Ports(Config(false, ("PagerDuty:ApiToken", null)));

        Assert.Null(ports.PagerDutyIncidents);
        Assert.Equal("P1", ports.EscalationPriority);
    }

    [Fact]
    public void Dry_run_has_no_incidents_client()
    {
        Assert.Null(Ports(Config(), dryRun: true).PagerDutyIncidents);
    }

    [Fact]
    public void An_api_token_without_From_is_a_clear_configuration_error()
    {
        var ex = Assert.Throws<ConfigurationException>(() => Ports(Config(true, ("PagerDuty:From", null))));

        Assert.Contains("PagerDuty:From", ex.Message);
        Assert.Contains("PagerDuty:ApiToken", ex.Message);
        Assert.DoesNotContain(FakePagerDuty.ApiToken, ex.Message);
    }

    [Fact]
    public void An_api_token_needs_a_webhook_for_the_escalation_channel()
    {
        var ex = Assert.Throws<ConfigurationException>(() => Ports(Config(escalationWebhook: false)));

        Assert.Contains(_policy.Channels.Escalation, ex.Message);
        Assert.Contains("Slack__Webhooks__incident", ex.Message);
        Assert.Contains("PagerDuty:ApiToken", ex.Message);
        Assert.DoesNotContain(FakePagerDuty.ApiToken, ex.Message);
    }

    [Theory]
    [InlineData("PagerDuty:From", "bot", "PagerDuty:From must be a plain email")]
    [InlineData("PagerDuty:ApiUrl", "http://api.pagerduty.com", "PagerDuty ApiUrl must use https")]
    [InlineData("PagerDuty:ApiUrl", "not a url", "PagerDuty:ApiUrl is not an absolute URL")]
    [InlineData("PagerDuty:EscalationPriority", " ", "PagerDuty:EscalationPriority is empty")]
    public void Invalid_rest_settings_are_configuration_errors(string key, string value, string expected)
    {
        var ex = Assert.Throws<ConfigurationException>(() => Ports(Config(true, (key, value))));

        Assert.Contains(expected, ex.Message);
        Assert.DoesNotContain(FakePagerDuty.ApiToken, ex.Message);
    }
}
