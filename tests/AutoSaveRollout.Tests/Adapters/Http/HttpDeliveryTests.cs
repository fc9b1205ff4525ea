using System.Diagnostics;
using AutoSaveRollout.Adapters.FlagService;
using AutoSaveRollout.Adapters.Http;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Tests.Support;
using static AutoSaveRollout.Tests.Support.HttpTestSupport;

namespace AutoSaveRollout.Tests.Adapters.Http;

/// <summary>
/// The one send-and-classify helper of the HTTP adapters (<see cref="HttpDelivery"/>) and the per-service rules, against a
/// real Kestrel server on loopback.
/// </summary>
public sealed class HttpDeliveryTests : IAsyncLifetime
{
    private const string Secret = "s3cr3t-T0KEN-value";
    private const string Path = "/deliver";
    private static readonly HttpCall Call = new("POST /deliver", [Secret, null]);

    private RecordingServer _server = null!;

    public async Task InitializeAsync() => _server = await RecordingServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    /// <summary>Carries the classified failure out of the helper, as an adapter's exception would.</summary>
    private sealed class Failed(HttpFailure failure) : Exception(failure.Message, failure.Inner)
    {
        public HttpFailure Failure { get; } = failure;
    }

    private static HttpDelivery Delivery(HttpClient http, HttpFailureRules? rules = null, TimeProvider? time = null) =>
        new(http.Timeout, time ?? TimeProvider.System, rules ?? HttpFailureRules.Default, f => new Failed(f));

    private Task<HttpExchange> Send(HttpClient http, HttpDelivery delivery, Uri? url = null, CancellationToken cancellationToken = default) =>
        delivery.SendAsync(ct => http.SendAsync(new HttpRequestMessage(HttpMethod.Post, url ?? _server.Url(Path)), HttpCompletionOption.ResponseHeadersRead, ct),
            Call, cancellationToken);

    private async Task<HttpFailure> Failure(ScriptedResponse response, HttpFailureRules? rules = null, TimeProvider? time = null)
    {
        _server.Enqueue(Path, response);
        using var http = NewClient();
        var ex = await Assert.ThrowsAsync<Failed>(() => Send(http, Delivery(http, rules, time)));
        Assert.DoesNotContain(Secret, ex.ToString());
        return ex.Failure;
    }

    [Theory]
    [InlineData(200)]
    [InlineData(202)]
    [InlineData(204)]
    public async Task A_2xx_is_returned_with_its_body_unread(int status)
    {
        _server.Enqueue(Path, ScriptedResponse.Text(status, status == 204 ? "" : "ok"));
        using var http = NewClient();

        using var exchange = await Send(http, Delivery(http));

        Assert.Equal(status, exchange.Status);
        Assert.Equal(status == 204 ? "" : "ok", await exchange.ReadBodyAsync());
    }

    [Theory]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(409, false)]
    [InlineData(410, false)]
    [InlineData(413, false)]
    [InlineData(422, false)]
    [InlineData(302, false)]
    public async Task Default_rules_408_429_and_5xx_are_transient_every_other_status_permanent(int status, bool transient)
    {
        var failure = await Failure(ScriptedResponse.Text(status, $"boom for {Secret}"));

        Assert.Equal(status, failure.StatusCode);
        Assert.Equal(transient, failure.IsTransient);
        Assert.Equal($"POST /deliver failed: HTTP {status} boom for [redacted]", failure.Message);
        Assert.Null(failure.Inner);
    }

    [Fact]
    public async Task Retry_After_in_seconds_is_the_wait_of_a_transient_status()
    {
        var failure = await Failure(ScriptedResponse.TooManyRequests(17));

        Assert.True(failure.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(17), failure.RetryAfter);
    }

    [Fact]
    public async Task Retry_After_as_an_HTTP_date_is_measured_on_the_injected_clock_and_never_negative()
    {
        var now = new DateTimeOffset(2026, 11, 20, 10, 15, 0, TimeSpan.Zero);
        var date = ScriptedResponse.Text(503) with { Headers = new Dictionary<string, string> { ["Retry-After"] = "Fri, 20 Nov 2026 10:16:30 GMT" } };

        Assert.Equal(TimeSpan.FromSeconds(90), (await Failure(date, time: new FixedTimeProvider(now))).RetryAfter);
        Assert.Equal(TimeSpan.Zero, (await Failure(date, time: new FixedTimeProvider(now.AddHours(1)))).RetryAfter);
    }

    [Fact]
    public async Task A_permanent_status_carries_no_wait_even_with_Retry_After()
    {
        var failure = await Failure(ScriptedResponse.Text(400, "bad") with { Headers = new Dictionary<string, string> { ["Retry-After"] = "5" } });

        Assert.False(failure.IsTransient);
        Assert.Null(failure.RetryAfter);
    }

    [Fact]
    public async Task A_long_error_body_is_quoted_on_one_line_bounded_and_redacted()
    {
        var body = $"first line {Secret}\r\nsecond\tline " + new string('x', 100_000);

        var failure = await Failure(ScriptedResponse.Text(500, body));

        Assert.StartsWith("POST /deliver failed: HTTP 500 first line [redacted] second line xxx", failure.Message);
        Assert.EndsWith("…", failure.Message);
        Assert.DoesNotContain('\n', failure.Message);
        Assert.True(failure.Message.Length <= "POST /deliver failed: HTTP 500 ".Length + HttpSupport.MaxQuotedBodyChars + 1, failure.Message);
    }

    [Fact]
    public async Task Connection_refused_is_transient_without_a_status()
    {
        using var http = NewClient();

        var ex = await Assert.ThrowsAsync<Failed>(() => Send(http, Delivery(http), RecordingServer.UnusedLoopbackUri(Path)));

        Assert.True(ex.Failure.IsTransient);
        Assert.Null(ex.Failure.StatusCode);
        Assert.StartsWith("POST /deliver failed: connection failed", ex.Failure.Message);
        Assert.IsType<HttpRequestException>(ex.Failure.Inner);
    }

    [Fact]
    public async Task A_response_slower_than_the_timeout_is_transient_without_a_status()
    {
        _server.Enqueue(Path, ScriptedResponse.Text(200, "late") with { Delay = TimeSpan.FromSeconds(20) });
        using var http = NewClient(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<Failed>(() => Send(http, Delivery(http)));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.True(ex.Failure.IsTransient);
        Assert.Null(ex.Failure.StatusCode);
        Assert.Equal("POST /deliver failed: request timed out after 0.3 s", ex.Failure.Message);
    }

    [Fact]
    public async Task The_callers_cancellation_propagates_unclassified()
    {
        _server.Enqueue(Path, ScriptedResponse.Text(200, "late") with { Delay = TimeSpan.FromSeconds(20) });
        using var http = NewClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Send(http, Delivery(http), cancellationToken: cts.Token));

        Assert.IsNotType<Failed>(ex);
    }

    [Fact]
    public async Task A_success_body_over_the_limit_reads_as_null()
    {
        _server.Enqueue(Path, ScriptedResponse.Text(200, new string('y', 5000)));
        _server.Enqueue(Path, ScriptedResponse.Text(200, new string('y', 4096)));
        using var http = NewClient();
        var delivery = Delivery(http);

        using (var big = await Send(http, delivery))
            Assert.Null(await delivery.ReadSuccessBodyAsync(big, Call, 4096));
        using (var fits = await Send(http, delivery))
            Assert.Equal(4096, (await delivery.ReadSuccessBodyAsync(fits, Call, 4096))!.Length);
    }

    [Fact]
    public async Task The_rejected_prefix_names_a_status_failure_and_What_a_transport_failure()
    {
        _server.Enqueue(Path, ScriptedResponse.Text(400, "no"));
        using var http = NewClient();
        var call = new HttpCall("PagerDuty trigger event", []) { Rejected = "PagerDuty rejected the trigger event" };

        var ex = await Assert.ThrowsAsync<Failed>(() => Delivery(http).SendAsync(
            ct => http.SendAsync(new HttpRequestMessage(HttpMethod.Post, _server.Url(Path)), HttpCompletionOption.ResponseHeadersRead, ct),
            call, CancellationToken.None));

        Assert.Equal("PagerDuty rejected the trigger event: HTTP 400 no", ex.Message);
    }

    [Theory]
    [InlineData(409, true, " (a request with this Idempotency-Key is still in progress)")]
    [InlineData(422, false, "")]
    [InlineData(503, true, "")]
    public async Task Flag_service_rules_make_409_transient_with_a_hint(int status, bool transient, string hint)
    {
        var failure = await Failure(ScriptedResponse.Text(status, "busy"), RollbackFlagServiceClient.Rules);

        Assert.Equal(transient, failure.IsTransient);
        Assert.Equal($"POST /deliver failed: HTTP {status}{hint} busy", failure.Message);
    }

    [Fact]
    public async Task PagerDuty_events_rules_quote_message_and_errors_of_a_JSON_error_body()
    {
        var json = await Failure(ScriptedResponse.PagerDutyInvalid("'payload.summary' is missing", $"key {Secret}"), PagerDutyEventsClient.Rules);
        var raw = await Failure(ScriptedResponse.Text(400, "not json"), PagerDutyEventsClient.Rules);

        Assert.Equal("POST /deliver failed: HTTP 400 Event object is invalid: 'payload.summary' is missing; key [redacted]", json.Message);
        Assert.Equal("POST /deliver failed: HTTP 400 not json", raw.Message);
    }

    [Fact]
    public async Task PagerDuty_REST_rules_quote_the_error_object_hint_on_401_and_wait_for_ratelimit_reset()
    {
        var unauthorized = await Failure(ScriptedResponse.Json(401, """{"error":{"message":"Unauthorized","code":2006}}"""), PagerDutyRestClient.Rules);
        var limited = await Failure(ScriptedResponse.Json(429, """{"error":{"message":"Rate Limit Exceeded","errors":["slow down"]}}""")
            with { Headers = new Dictionary<string, string> { ["ratelimit-reset"] = "20" } }, PagerDutyRestClient.Rules);
        var both = await Failure(ScriptedResponse.Json(429, "{}")
            with { Headers = new Dictionary<string, string> { ["Retry-After"] = "3", ["ratelimit-reset"] = "20" } }, PagerDutyRestClient.Rules);
        var forbidden = await Failure(ScriptedResponse.Json(403, "{}")
            with { Headers = new Dictionary<string, string> { ["ratelimit-reset"] = "20" } }, PagerDutyRestClient.Rules);

        Assert.Equal("POST /deliver failed: HTTP 401 (PagerDuty:ApiToken was not accepted) Unauthorized", unauthorized.Message);
        Assert.Equal("POST /deliver failed: HTTP 429 Rate Limit Exceeded: slow down", limited.Message);
        Assert.Equal(TimeSpan.FromSeconds(20), limited.RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(3), both.RetryAfter);
        Assert.False(forbidden.IsTransient);
        Assert.Null(forbidden.RetryAfter);
    }
}
