using System.Diagnostics;
using AutoSaveRollout.Adapters.FlagService;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Configuration;
using static AutoSaveRollout.Tests.Support.HttpTestSupport;

namespace AutoSaveRollout.Tests.Adapters.FlagService;

public sealed class RollbackFlagServiceClientTests : IAsyncLifetime
{
    private const string Token = "flagTOKENsecret-9f8e7d6c";
    private const string RollbackPath = "/flags/autosave/rollback";
    private RecordingServer _server = null!;

    public async Task InitializeAsync() => _server = await RecordingServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private RollbackFlagServiceClient Client(HttpClient http, Uri? baseUrl = null) =>
        new(http, new FlagServiceOptions { BaseUrl = baseUrl ?? _server.BaseUri, Token = Token });

    private static FlagRollbackRequest Request(string flag = "autosave") =>
        new(flag, "B", "A", "p95_s violation: 3.4 > 2.5 (window 20261120T1015Z)", "dec-20261120T1015Z-0001");

    [Theory]
    [InlineData("C", "A")]
    [InlineData("C", "off")]
    [InlineData("B", "off")]
    [InlineData("A", "B")]
    [InlineData("B", "B")]
    public async Task Refuses_a_rollback_of_other_than_one_phase_back_before_sending(string from, string to)
    {
        _server.UseFlagServiceDefaults();
        using var http = NewClient();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Client(http).RollbackAsync(Request() with { FromPhase = from, ToPhase = to }));
        Assert.StartsWith($"a rollback goes exactly one phase back (C→B, B→A, A→off), not {from}→{to}", ex.Message);
        Assert.Empty(_server.Requests);
    }

    [Theory]
    [InlineData("A", "C")]
    [InlineData("B", "complete")]
    [InlineData("B", "A")]
    [InlineData("A", "A")]
    public async Task Refuses_a_phase_move_of_other_than_one_phase_forward_before_sending(string from, string to)
    {
        _server.UseFlagServiceDefaults();
        using var http = NewClient();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => Client(http).SetPhaseAsync(new FlagPhaseRequest("autosave", from, to, "promotion_approved", "move-1")));
        Assert.StartsWith($"a phase move goes exactly one phase forward (A→B, B→C, C→complete), not {from}→{to}", ex.Message);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task Posts_the_exact_phase_move_request()
    {
        _server.UseFlagServiceDefaults();
        using var http = NewClient();
        await Client(http).SetPhaseAsync(new FlagPhaseRequest("autosave", "B", "C", "promotion_approved", "move-autosave-B-C-20261102T020230Z"));
        var r = Assert.Single(_server.Requests);
        Assert.Equal(("POST", "/flags/autosave/phase", "move-autosave-B-C-20261102T020230Z", $"Bearer {Token}"),
            (r.Method, r.Path, r.Header("Idempotency-Key"), r.Header("Authorization")));
        Assert.Equal("""{"from_phase":"B","to_phase":"C","reason":"promotion_approved","move_id":"move-autosave-B-C-20261102T020230Z"}""", r.Body);
    }

    [Fact]
    public async Task Posts_the_exact_rollback_request()
    {
        _server.UseFlagServiceDefaults();
        using var http = NewClient();

        await Client(http).RollbackAsync(Request());

        var request = Assert.Single(_server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal(RollbackPath, request.Path);
        Assert.Equal("", request.QueryString);
        Assert.Equal("Bearer " + Token, request.Header("Authorization"));
        Assert.Equal("dec-20261120T1015Z-0001", request.Header("Idempotency-Key"));
        Assert.Equal("application/json; charset=utf-8", request.Header("Content-Type"));
        var body = request.JsonBody();
        AssertKeys(body, "from_phase", "to_phase", "reason", "decision_id");
        Assert.Equal("B", Str(body, "from_phase"));
        Assert.Equal("A", Str(body, "to_phase"));
        Assert.Equal("p95_s violation: 3.4 > 2.5 (window 20261120T1015Z)", Str(body, "reason"));
        Assert.Equal("dec-20261120T1015Z-0001", Str(body, "decision_id"));
    }

    [Fact]
    public async Task Flag_name_is_url_escaped_in_the_path()
    {
        _server.UseFlagServiceDefaults();
        using var http = NewClient();

        await Client(http).RollbackAsync(Request("auto save/é"));

        Assert.Equal("/flags/auto%20save%2F%C3%A9/rollback", Assert.Single(_server.Requests).RawTarget);
    }

    [Theory]
    [InlineData("api")]
    [InlineData("api/")]
    public async Task Base_url_path_is_kept(string basePath)
    {
        _server.UseFlagServiceDefaults();
        using var http = NewClient();

        await Client(http, _server.Url(basePath)).RollbackAsync(Request());

        Assert.Equal("/api/flags/autosave/rollback", Assert.Single(_server.Requests).Path);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(201)]
    [InlineData(202)]
    [InlineData(204)]
    public async Task Any_2xx_is_success(int status)
    {
        _server.SetDefault(RollbackPath, ScriptedResponse.Json(status, status == 204 ? "" : """{"status":"rolled_back"}"""));
        using var http = NewClient();

        await Client(http).RollbackAsync(Request());

        Assert.Single(_server.RequestsTo(RollbackPath));
    }

    [Theory]
    [InlineData(409, true)]  // IETF idempotency-key draft: a request with this key is still being processed
    [InlineData(408, true)]
    [InlineData(500, true)]
    [InlineData(503, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(422, false)] // IETF idempotency-key draft: key reused with a different payload
    public async Task Statuses_are_classified(int status, bool transient)
    {
        _server.Enqueue(RollbackPath, ScriptedResponse.Json(status, $$"""{"error":"nope","echo":"Authorization: Bearer {{Token}}"}"""));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http).RollbackAsync(Request()));

        Assert.Equal(transient, ex.IsTransient);
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal("flag-service", ex.Target);
        Assert.Contains($"HTTP {status}", ex.Message);
        Assert.Contains("dec-20261120T1015Z-0001", ex.Message);
        Assert.Contains("Bearer [redacted]", ex.Message);
        AssertNoSecrets(ex, Token);
    }

    [Fact]
    public async Task Status_429_is_transient_with_Retry_After()
    {
        _server.Enqueue(RollbackPath, ScriptedResponse.TooManyRequests(12));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http).RollbackAsync(Request()));

        Assert.True(ex.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(12), ex.RetryAfter);
        AssertNoSecrets(ex, Token);
    }

    [Fact]
    public async Task A_retry_after_409_reaches_the_replayed_success()
    {
        _server.UseFlagServiceDefaults(202);
        _server.Enqueue(RollbackPath, ScriptedResponse.Json(409, """{"title":"A request is outstanding for this Idempotency-Key"}"""));
        using var http = NewClient();
        var client = Client(http);

        var first = await DeliveryFailure(() => client.RollbackAsync(Request()));
        await client.RollbackAsync(Request());

        Assert.True(first.IsTransient);
        Assert.Contains("still in progress", first.Message);
        var keys = _server.RequestsTo(RollbackPath).Select(r => r.Header("Idempotency-Key")).ToList();
        Assert.Equal(["dec-20261120T1015Z-0001", "dec-20261120T1015Z-0001"], keys);
    }

    [Fact]
    public async Task Timeout_is_transient_without_status()
    {
        _server.Enqueue(RollbackPath, ScriptedResponse.Json(200, "{}") with { Delay = TimeSpan.FromSeconds(20) });
        using var http = NewClient(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        var ex = await DeliveryFailure(() => Client(http).RollbackAsync(Request()));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.True(ex.IsTransient);
        Assert.Null(ex.StatusCode);
        Assert.Contains("timed out", ex.Message);
        AssertNoSecrets(ex, Token);
    }

    [Fact]
    public async Task Connection_refused_is_transient_without_status()
    {
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Client(http, RecordingServer.UnusedLoopbackUri()).RollbackAsync(Request()));

        Assert.True(ex.IsTransient);
        Assert.Null(ex.StatusCode);
        Assert.Contains("connection failed", ex.Message);
        AssertNoSecrets(ex, Token);
    }

    [Theory]
    [InlineData("http://flags.example.com")]
    [InlineData("http://10.0.0.5:8080")]
    [InlineData("http://localhost.example.com")]
    [InlineData("ftp://flags.example.com")]
    [InlineData("https://flags.example.com/?x=1")]
    [InlineData("https://user:pw@flags.example.com/")]
    public void Rejects_insecure_or_malformed_base_urls(string url)
    {
        using var http = NewClient();

        var ex = Assert.Throws<ArgumentException>(() =>
            new RollbackFlagServiceClient(http, new FlagServiceOptions { BaseUrl = new Uri(url), Token = Token }));

        AssertNoSecrets(ex, Token);
    }

    [Theory]
    [InlineData("https://flags.example.com")]
    [InlineData("http://127.0.0.1:5000")]
    [InlineData("http://127.5.6.7:5000")]
    [InlineData("http://[::1]:5000")]
    [InlineData("http://localhost:5000/api/")]
    [InlineData("http://LOCALHOST:5000")]
    public void Accepts_https_and_loopback_http(string url)
    {
        using var http = NewClient();

        var client = new RollbackFlagServiceClient(http, new FlagServiceOptions { BaseUrl = new Uri(url), Token = Token });

        Assert.StartsWith(new Uri(url).GetLeftPart(UriPartial.Authority), client.RollbackUrl("autosave").ToString(), StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("tok en")]
    public void Rejects_a_missing_or_malformed_token(string? token)
    {
        using var http = NewClient();

        Assert.Throws<ArgumentException>(() =>
            new RollbackFlagServiceClient(http, new FlagServiceOptions { BaseUrl = new Uri("https://flags.example.com"), Token = token }));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("line\nbreak")]
    [InlineData("naïve")]
    public async Task Rejects_decision_ids_that_cannot_be_an_idempotency_key(string decisionId)
    {
        using var http = NewClient();

        await Assert.ThrowsAsync<ArgumentException>(() => Client(http).RollbackAsync(Request() with { DecisionId = decisionId }));

        Assert.Empty(_server.Requests);
    }

    [Fact]
    public void Binds_from_configuration_and_never_prints_the_token()
    {
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["FlagService:BaseUrl"] = "https://flags.example.com/api",
                ["FlagService:Token"] = Token,
            })
            .Build();
        using var http = NewClient();

        var options = config.GetSection(FlagServiceOptions.SectionName).Get<FlagServiceOptions>()!;
        var client = new RollbackFlagServiceClient(http, options);

        Assert.Equal(new Uri("https://flags.example.com/api/flags/autosave/rollback"), client.RollbackUrl("autosave"));
        Assert.DoesNotContain(Token, options.ToString());
        Assert.DoesNotContain(Token, client.ToString());
    }
}
