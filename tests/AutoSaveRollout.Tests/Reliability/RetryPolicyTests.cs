using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using AutoSaveRollout.Adapters.FlagService;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Adapters.Slack;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reliability;
using AutoSaveRollout.Tests.Support;
using Polly;

namespace AutoSaveRollout.Tests.Reliability;

public sealed class RetryPolicyTests
{
    private const string Hook = "/services/T0/B0/hook-s3cr3t";

    /// <summary>Production limits with every computed wait at zero (Retry-After still applies), for tests that count calls.</summary>
    internal static RetryOptions NoWaits(RetryOptions? o = null)
    {
        o ??= new RetryOptions();
        return o with
        {
            Slack = o.Slack with { BaseDelay = TimeSpan.Zero },
            PagerDuty = o.PagerDuty with { BaseDelay = TimeSpan.Zero },
            FlagService = o.FlagService with { BaseDelay = TimeSpan.Zero },
            CollectorSource = o.CollectorSource with { Schedule = o.CollectorSource.Schedule!.Select(_ => TimeSpan.Zero).ToArray() },
        };
    }

    // ---- classification: statuses, through the real clients against a local server ----

    [Theory]
    [InlineData(500, true)]
    [InlineData(502, true)]
    [InlineData(503, true)]
    [InlineData(504, true)]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(410, false)]
    [InlineData(422, false)]
    public async Task Slack_statuses_5xx_408_429_are_retried_and_other_4xx_are_not(int status, bool retried)
    {
        await using var server = await RecordingServer.StartAsync();
        server.UseSlackDefaults(Hook);
        server.Enqueue(Hook, ScriptedResponse.SlackError(status, "scripted_error"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var options = new SlackOptions();
        options.Webhooks["incident_autosave"] = server.Url(Hook).ToString();
        var slack = new ResilientSlackNotifier(new SlackWebhookNotifier(http, options), new RetryPolicy(NoWaits()));

        if (retried)
        {
            await slack.PostAsync("#incident-autosave", "hello");
            Assert.Equal(2, server.RequestsTo(Hook).Count);
        }
        else
        {
            var ex = await Assert.ThrowsAsync<DeliveryException>(() => slack.PostAsync("#incident-autosave", "hello"));
            Assert.Equal(status, ex.StatusCode);
            Assert.Single(server.RequestsTo(Hook));
        }
        var bodies = server.RequestsTo(Hook).Select(r => r.Body).Distinct().ToList();
        Assert.Single(bodies); // the same post every attempt
    }

    [Theory]
    [InlineData(503, 2)]
    [InlineData(429, 2)]
    [InlineData(400, 1)]
    [InlineData(403, 1)]
    public async Task PagerDuty_retries_transient_statuses_with_the_same_dedup_key(int status, int expectedRequests)
    {
        await using var server = await RecordingServer.StartAsync();
        server.UsePagerDutyDefaults();
        server.Enqueue("/v2/enqueue", status == 400 ? ScriptedResponse.PagerDutyInvalid("bad") : ScriptedResponse.Json(status, "{}"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var pd = new ResilientPagerDutyEvents(
            new PagerDutyEventsClient(http, new PagerDutyOptions { RoutingKey = "R0UT1NGKEY0123456789abcdef012345", EventsUrl = server.Url("/v2/enqueue") }),
            new RetryPolicy(NoWaits()));
        var evt = new PagerDutyEvent("trigger", "autosave/A/20261120T0900Z", "summary", "test", "critical");

        if (expectedRequests == 2) Assert.Equal("autosave/A/20261120T0900Z", await pd.SendAsync(evt));
        else await Assert.ThrowsAsync<DeliveryException>(() => pd.SendAsync(evt));

        var requests = server.RequestsTo("/v2/enqueue");
        Assert.Equal(expectedRequests, requests.Count);
        Assert.All(requests, r => Assert.Equal("autosave/A/20261120T0900Z", r.JsonBody()!["dedup_key"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData(503, 2)]
    [InlineData(409, 2)] // "still processing this Idempotency-Key": transient for the flag service
    [InlineData(422, 1)]
    [InlineData(403, 1)]
    public async Task Flag_service_retries_keep_one_idempotency_key(int status, int expectedRequests)
    {
        await using var server = await RecordingServer.StartAsync();
        server.UseFlagServiceDefaults();
        server.Enqueue("/flags/autosave/rollback", ScriptedResponse.Json(status, "{}"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var flags = new ResilientFlagService(
            new RollbackFlagServiceClient(http, new FlagServiceOptions { BaseUrl = server.BaseUri, Token = "flag-token-s3cr3t" }),
            new RetryPolicy(NoWaits()));
        var request = new FlagRollbackRequest("autosave", "A", "off", "p95_s violation", "dec-20261120T0900Z-A-351e77a7b2a8");

        if (expectedRequests == 2) await flags.RollbackAsync(request);
        else await Assert.ThrowsAsync<DeliveryException>(() => flags.RollbackAsync(request));

        var requests = server.RequestsTo("/flags/autosave/rollback");
        Assert.Equal(expectedRequests, requests.Count);
        Assert.Equal(["dec-20261120T0900Z-A-351e77a7b2a8"], requests.Select(r => r.Header("Idempotency-Key")).Distinct());
        Assert.Single(requests.Select(r => r.Body).Distinct());
    }

    // ---- classification: exceptions ----

    public static TheoryData<string, Func<Exception>, bool> Exceptions => new()
    {
        { "delivery 503", () => new DeliveryException("slack", 503, true, "HTTP 503"), true },
        { "delivery 429", () => new DeliveryException("slack", 429, true, "HTTP 429"), true },
        { "delivery timeout", () => new DeliveryException("slack", null, true, "request timed out"), true },
        { "delivery 403", () => new DeliveryException("slack", 403, false, "HTTP 403 action_prohibited"), false },
        { "delivery not configured", () => new DeliveryException("slack", null, false, "no webhook"), false },
        { "storage ServerBusy", () => new StorageException("busy", 503, "ServerBusy", isTransient: true), true },
        { "storage AuthorizationFailure", () => new StorageException("denied", 403, "AuthorizationFailure", isTransient: false), false },
        { "storage condition failed", () => new ConcurrencyConflictException("state/rollout.json", 412, "ConditionNotMet"), false },
        { "telemetry 500", () => new TelemetrySourceException("HTTP 500", isTransient: true), true },
        { "telemetry 401", () => new TelemetrySourceException("HTTP 401", isTransient: false), false },
        { "http no response", () => new HttpRequestException(HttpRequestError.ConnectionError, "refused"), true },
        { "http 502", () => new HttpRequestException("bad gateway", null, HttpStatusCode.BadGateway), true },
        { "http 404", () => new HttpRequestException("not found", null, HttpStatusCode.NotFound), false },
        { "io", () => new IOException("reset"), true },
        { "socket", () => new SocketException((int)SocketError.ConnectionReset), true },
        { "timeout", () => new TimeoutException("slow"), true },
        { "task cancelled by a timeout", () => new TaskCanceledException("HttpClient.Timeout elapsed"), true },
        { "invalid operation", () => new InvalidOperationException("bug"), false },
        { "json", () => new JsonException("bad record"), false },
    };

    [Theory]
    [MemberData(nameof(Exceptions))]
    public async Task Exceptions_are_retried_only_when_transient(string name, Func<Exception> failure, bool retried)
    {
        var pipeline = new RetryPolicy().Create(new RetryLimits { Target = name, MaxRetries = 3, BaseDelay = TimeSpan.Zero });
        var calls = 0;
        var call = () => pipeline.ExecuteAsync(_ => ++calls == 1 ? throw failure() : ValueTask.CompletedTask).AsTask();

        if (retried) await call();
        else Assert.Equal(failure().GetType(), (await Assert.ThrowsAnyAsync<Exception>(call)).GetType());
        Assert.Equal(retried ? 2 : 1, calls);
        Assert.Equal(retried, TransientFailures.IsTransient(failure()));
    }

    [Fact]
    public async Task A_cancellation_the_caller_asked_for_is_never_retried()
    {
        var pipeline = new RetryPolicy().Create(new RetryLimits { Target = "t", MaxRetries = 3, BaseDelay = TimeSpan.Zero });
        using var cts = new CancellationTokenSource();
        var calls = 0;
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pipeline.ExecuteAsync(ct =>
        {
            calls++;
            cts.Cancel();
            ct.ThrowIfCancellationRequested();
            return ValueTask.CompletedTask;
        }, cts.Token).AsTask());
        Assert.Equal(1, calls);
        Assert.False(TransientFailures.IsTransient(new TaskCanceledException(), cts.Token));
    }

    // ---- delays: Retry-After, backoff, jitter ----

    [Fact]
    public async Task Retry_after_is_waited_exactly_on_the_policy_clock()
    {
        var clock = new ManualTimeProvider();
        var policy = new RetryPolicy(new RetryOptions { Time = clock });
        var seen = new List<RetryAttempt>();
        policy.Retrying += seen.Add;
        var calls = 0;
        var run = policy.Slack().ExecuteAsync(_ => ++calls == 1
            ? throw new DeliveryException("slack #incident-autosave", 429, true, "HTTP 429 rate_limited", TimeSpan.FromSeconds(5))
            : ValueTask.CompletedTask).AsTask();

        await WaitUntil(() => seen.Count == 1 && clock.PendingTimerCount == 1);
        clock.Advance(TimeSpan.FromSeconds(4.9));
        await Task.Delay(100);
        Assert.Equal(1, calls);                  // still waiting: 4.9 s < Retry-After
        clock.Advance(TimeSpan.FromSeconds(0.1));
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(2, calls);

        var attempt = Assert.Single(seen);
        Assert.Equal(new RetryAttempt("slack", 1, TimeSpan.FromSeconds(5), "DeliveryException: HTTP 429 rate_limited", 429, TimeSpan.FromSeconds(5),
            new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero)), attempt);
    }

    [Fact]
    public async Task A_retry_after_longer_than_the_cap_is_left_to_the_queue_instead_of_sending_early()
    {
        var policy = new RetryPolicy(new RetryOptions { Time = new ManualTimeProvider() });
        var calls = 0;
        var ex = await Assert.ThrowsAsync<DeliveryException>(() => policy.Slack().ExecuteAsync(_ =>
        {
            calls++;
            throw new DeliveryException("slack", 429, true, "HTTP 429", TimeSpan.FromSeconds(31));
        }).AsTask().WaitAsync(TimeSpan.FromSeconds(10))); // a retry would wait on the fake clock forever
        Assert.Equal(1, calls);
        Assert.Equal(TimeSpan.FromSeconds(31), ex.RetryAfter);
        Assert.True(RetryPolicy.ShouldRetry(RetryLimits.Slack, new DeliveryException("slack", 429, true, "HTTP 429", TimeSpan.FromSeconds(30))));
    }

    [Fact]
    public void Nominal_delays_per_target_follow_the_issue()
    {
        static double[] Seconds(RetryLimits l) => Enumerable.Range(0, l.Retries).Select(i => l.NominalDelay(i).TotalSeconds).ToArray();
        Assert.Equal([1.0, 2, 4], Seconds(RetryLimits.Slack));
        Assert.Equal([2.0, 4, 8], Seconds(RetryLimits.PagerDuty));
        Assert.Equal([1.0, 2, 4], Seconds(RetryLimits.FlagService));
        Assert.Equal([30.0, 60, 120, 240], Seconds(RetryLimits.CollectorSource));
        var capped = new RetryLimits { Target = "t", MaxRetries = 5, BaseDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(5) };
        Assert.Equal([1.0, 2, 4, 5, 5], Seconds(capped));
    }

    [Fact]
    public void Jitter_stays_within_plus_or_minus_20_percent_and_is_reproducible_from_a_seed()
    {
        var ex = new DeliveryException("t", 503, true, "HTTP 503");
        foreach (var limits in new[] { RetryLimits.Slack, RetryLimits.PagerDuty, RetryLimits.FlagService, RetryLimits.CollectorSource })
        {
            for (var i = 0; i < limits.Retries; i++)
            {
                var random = RetryOptions.Seeded(42);
                var nominal = limits.NominalDelay(i).Ticks;
                var ratios = Enumerable.Range(0, 2000).Select(_ => RetryPolicy.DelayFor(limits, i, ex, random()).Ticks / (double)nominal).ToList();
                Assert.All(ratios, r => Assert.InRange(r, 0.8, 1.2));
                Assert.True(ratios.Min() < 0.81 && ratios.Max() > 1.19, $"{limits.Target}[{i}]: {ratios.Min()}..{ratios.Max()}");
                var again = RetryOptions.Seeded(42);
                Assert.Equal(ratios.Take(10), Enumerable.Range(0, 10).Select(_ => RetryPolicy.DelayFor(limits, i, ex, again()).Ticks / (double)nominal));
            }
        }
        // The extremes of the random source map to the band's edges; a Retry-After bypasses the jitter.
        Assert.Equal(TimeSpan.FromSeconds(24), RetryPolicy.DelayFor(RetryLimits.CollectorSource, 0, ex, 0));
        Assert.Equal(TimeSpan.FromSeconds(36), RetryPolicy.DelayFor(RetryLimits.CollectorSource, 0, ex, 1));
        Assert.Equal(TimeSpan.FromSeconds(7), RetryPolicy.DelayFor(RetryLimits.Slack, 2, new DeliveryException("t", 429, true, "429", TimeSpan.FromSeconds(7)), 0.99));
    }

    [Theory]
    [InlineData("slack", 4, new[] { 1.0, 2, 4 })]
    [InlineData("pagerduty", 4, new[] { 2.0, 4, 8 })]
    [InlineData("flag-service", 4, new[] { 1.0, 2, 4 })]
    [InlineData("collector-source", 5, new[] { 30.0, 60, 120, 240 })]
    public async Task Each_target_makes_its_number_of_attempts_waiting_its_jittered_backoff_on_a_fake_clock(string target, int attempts, double[] nominal)
    {
        var clock = new ManualTimeProvider();
        var policy = new RetryPolicy(new RetryOptions { Time = clock, Random = RetryOptions.Seeded(7) });
        var pipeline = target switch
        {
            "slack" => policy.Slack(),
            "pagerduty" => policy.PagerDuty(),
            "flag-service" => policy.FlagService(),
            _ => policy.CollectorSource(),
        };
        var seen = new List<RetryAttempt>();
        policy.Retrying += seen.Add;
        var callTimes = new List<DateTimeOffset>();
        var run = pipeline.ExecuteAsync(_ =>
        {
            lock (callTimes) callTimes.Add(clock.GetUtcNow());
            throw new DeliveryException(target, 503, true, "HTTP 503");
        }).AsTask();

        for (var retry = 0; retry < nominal.Length; retry++)
        {
            await WaitUntil(() => seen.Count == retry + 1 && clock.PendingTimerCount == 1); // the wait is armed
            var delay = seen[retry].Delay;
            Assert.InRange(delay.TotalSeconds, 0.8 * nominal[retry], 1.2 * nominal[retry]);
            clock.Advance(delay - TimeSpan.FromMilliseconds(1));
            await Task.Delay(20);
            Assert.Equal(retry + 1, CountOf(callTimes));           // not a millisecond early
            clock.Advance(TimeSpan.FromMilliseconds(1));
            await WaitUntil(() => CountOf(callTimes) == retry + 2);
            Assert.Equal(delay, callTimes[retry + 1] - callTimes[retry]);
        }
        await Assert.ThrowsAsync<DeliveryException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(attempts, callTimes.Count);
        Assert.Equal(Enumerable.Range(1, attempts - 1), seen.Select(s => s.FailedAttempt));
        Assert.All(seen, s => Assert.Equal(target, s.Target));
    }

    private static int CountOf<T>(List<T> list)
    {
        lock (list) return list.Count;
    }

    [Fact]
    public async Task A_throwing_retry_hook_does_not_break_the_call_and_other_hooks_still_run()
    {
        var policy = new RetryPolicy(NoWaits());
        var counted = 0;
        policy.Retrying += _ => throw new InvalidOperationException("metrics down");
        policy.Retrying += _ => counted++;
        var calls = 0;
        await policy.Slack().ExecuteAsync(_ => ++calls < 3 ? throw new IOException("reset") : ValueTask.CompletedTask);
        Assert.Equal(3, calls);
        Assert.Equal(2, counted);
    }

    [Fact]
    public void Invalid_limits_are_rejected_and_zero_retries_is_a_pass_through()
    {
        Assert.Throws<ArgumentException>(() => new RetryPolicy().Create(new RetryLimits { Target = "t", MaxRetries = -1 }));
        Assert.Throws<ArgumentException>(() => new RetryPolicy().Create(new RetryLimits { Target = "t", Jitter = 1 }));
        Assert.Throws<ArgumentException>(() => new RetryPolicy(new RetryOptions { Slack = RetryLimits.Slack with { BaseDelay = TimeSpan.FromSeconds(-1) } }));
        Assert.Same(ResiliencePipeline.Empty, new RetryPolicy().Create(RetryLimits.None("t")));
    }

    internal static async Task WaitUntil(Func<bool> condition, int timeoutMs = 10_000)
    {
        var deadline = Environment.TickCount64 + timeoutMs;
        while (!condition())
        {
            if (Environment.TickCount64 > deadline) throw new TimeoutException("condition not met");
            await Task.Delay(5);
        }
    }
}
