using System.Diagnostics;
using AutoSaveRollout.Adapters.Slack;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Configuration;
using static AutoSaveRollout.Tests.Support.HttpTestSupport;

namespace AutoSaveRollout.Tests.Adapters.Slack;

public sealed class SlackWebhookNotifierTests : IAsyncLifetime
{
    private const string SecretToken = "XXsecretWEBHOOKtokenXX";
    private const string HookPath = "/services/T0001/B0001/" + SecretToken;
    private const string OtherHookPath = "/services/T0001/B0002/" + SecretToken + "2";
    private RecordingServer _server = null!;

    public async Task InitializeAsync() => _server = await RecordingServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private string HookUrl => _server.Url(HookPath).ToString();

    private string[] Secrets => [HookUrl, HookPath, SecretToken];

    private SlackWebhookNotifier Notifier(HttpClient http, TimeProvider? time = null) => new(http, new SlackOptions
    {
        Webhooks = new() { ["incident_autosave"] = HookUrl, ["Rollout-Updates"] = _server.Url(OtherHookPath).ToString() },
    }, time);

    [Fact]
    public async Task Posts_exactly_one_json_text_field_with_the_text_unchanged()
    {
        _server.UseSlackDefaults(HookPath);
        using var http = NewClient();
        const string text = "*AutoSave* p95 &lt;3s breached <@U123> <!here> \"quoted\" \\ back\nline2 ü 🚀 <https://x.example/a?b=c&d=e|dash>";

        await Notifier(http).PostAsync("#incident-autosave", text);

        var request = Assert.Single(_server.Requests);
        Assert.Equal("POST", request.Method);
        Assert.Equal(HookPath, request.Path);
        Assert.Equal("", request.QueryString);
        Assert.Equal("application/json; charset=utf-8", request.Header("Content-Type"));
        Assert.Null(request.Header("Authorization"));
        var json = request.JsonBody();
        AssertKeys(json, "text");
        Assert.Equal(text, Str(json, "text"));
    }

    [Theory]
    [InlineData("#incident-autosave")]
    [InlineData("incident-autosave")]
    [InlineData("INCIDENT_AUTOSAVE")]
    [InlineData("  #Incident-AutoSave ")]
    public async Task Channel_spellings_find_the_same_webhook(string channel)
    {
        _server.UseSlackDefaults(HookPath);
        using var http = NewClient();

        await Notifier(http).PostAsync(channel, "hello");

        Assert.Single(_server.RequestsTo(HookPath));
    }

    [Fact]
    public async Task Configuration_key_with_dashes_and_capitals_is_normalised_too()
    {
        _server.UseSlackDefaults(OtherHookPath);
        using var http = NewClient();

        await Notifier(http).PostAsync("#rollout-updates", "hello");

        Assert.Single(_server.RequestsTo(OtherHookPath));
        Assert.Empty(_server.RequestsTo(HookPath));
    }

    [Theory]
    [InlineData("#incident-autosave", "incident_autosave")]
    [InlineData("incident-autosave", "incident_autosave")]
    [InlineData("INCIDENT_AUTOSAVE", "incident_autosave")]
    [InlineData(" #Rollout-Updates ", "rollout_updates")]
    [InlineData("##x", "#x")]
    public void NormaliseChannelKey_strips_one_hash_lowercases_and_maps_dashes(string channel, string expected) =>
        Assert.Equal(expected, SlackOptions.NormaliseChannelKey(channel));

    [Theory]
    [InlineData("")]
    [InlineData("#")]
    [InlineData("  ")]
    public void NormaliseChannelKey_rejects_empty_names(string channel) =>
        Assert.Throws<ArgumentException>(() => SlackOptions.NormaliseChannelKey(channel));

    [Fact]
    public async Task Binds_from_configuration_keys_Slack_Webhooks_channel()
    {
        _server.UseSlackDefaults(HookPath);
        var config = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Slack:Webhooks:incident_autosave"] = HookUrl })
            .Build();
        var options = config.GetSection(SlackOptions.SectionName).Get<SlackOptions>()!;
        using var http = NewClient();

        await new SlackWebhookNotifier(http, options).PostAsync("#incident-autosave", "bound");

        Assert.Equal("bound", Str(Assert.Single(_server.RequestsTo(HookPath)).JsonBody(), "text"));
    }

    [Fact]
    public async Task No_webhook_for_the_channel_is_a_permanent_failure_and_sends_nothing()
    {
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Notifier(http).PostAsync("#unknown-channel", "x"));

        Assert.False(ex.IsTransient);
        Assert.Null(ex.StatusCode);
        Assert.Equal("no Slack webhook configured for #unknown-channel", ex.Message);
        Assert.Equal("slack #unknown-channel", ex.Target);
        Assert.Empty(_server.Requests);
    }

    [Fact]
    public async Task Empty_configured_url_counts_as_not_configured()
    {
        using var http = NewClient();
        var notifier = new SlackWebhookNotifier(http, new SlackOptions { Webhooks = new() { ["ops"] = "" } });

        Assert.False(notifier.HasWebhookFor("#ops"));
        var ex = await DeliveryFailure(() => notifier.PostAsync("#ops", "x"));
        Assert.False(ex.IsTransient);
    }

    [Fact]
    public async Task Status_429_is_transient_with_Retry_After_seconds()
    {
        _server.Enqueue(HookPath, ScriptedResponse.TooManyRequests(7));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Notifier(http).PostAsync("#incident-autosave", "x"));

        Assert.True(ex.IsTransient);
        Assert.Equal(429, ex.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(7), ex.RetryAfter);
        AssertNoSecrets(ex, Secrets);
    }

    [Fact]
    public async Task Retry_After_as_an_http_date_is_converted_with_the_injected_clock()
    {
        var now = new DateTimeOffset(2026, 11, 20, 10, 15, 0, TimeSpan.Zero);
        _server.Enqueue(HookPath, ScriptedResponse.Text(429, "rate_limited") with
        {
            Headers = new Dictionary<string, string> { ["Retry-After"] = now.AddSeconds(42).ToString("r") },
        });
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Notifier(http, new FixedTimeProvider(now)).PostAsync("#incident-autosave", "x"));

        Assert.Equal(TimeSpan.FromSeconds(42), ex.RetryAfter);
    }

    [Theory]
    [InlineData(500, "rollup_error")]
    [InlineData(502, "")]
    [InlineData(503, "service unavailable")]
    [InlineData(408, "")]
    public async Task Server_errors_and_408_are_transient(int status, string body)
    {
        _server.Enqueue(HookPath, ScriptedResponse.Text(status, body));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Notifier(http).PostAsync("#incident-autosave", "x"));

        Assert.True(ex.IsTransient);
        Assert.Equal(status, ex.StatusCode);
        Assert.Null(ex.RetryAfter);
        Assert.Contains($"HTTP {status}", ex.Message);
        AssertNoSecrets(ex, Secrets);
    }

    [Theory]
    [InlineData(400, "invalid_payload")]
    [InlineData(403, "action_prohibited")]
    [InlineData(404, "channel_not_found")]
    [InlineData(404, "no_service")]
    [InlineData(410, "channel_is_archived")]
    public async Task Other_statuses_are_permanent_and_quote_slacks_error_code(int status, string code)
    {
        _server.Enqueue(HookPath, ScriptedResponse.SlackError(status, code));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Notifier(http).PostAsync("#incident-autosave", "x"));

        Assert.False(ex.IsTransient);
        Assert.Equal(status, ex.StatusCode);
        Assert.Equal($"Slack post to #incident-autosave failed: HTTP {status} {code}", ex.Message);
        Assert.Equal("slack #incident-autosave", ex.Target);
        AssertNoSecrets(ex, Secrets);
    }

    [Fact]
    public async Task Long_error_bodies_are_truncated_and_flattened()
    {
        _server.Enqueue(HookPath, ScriptedResponse.Text(400, "invalid_payload\r\n" + new string('x', 5000)));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Notifier(http).PostAsync("#incident-autosave", "x"));

        Assert.Contains("invalid_payload xxx", ex.Message);
        Assert.EndsWith("…", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
        Assert.True(ex.Message.Length < 300, ex.Message);
    }

    [Fact]
    public async Task An_error_body_echoing_the_webhook_url_is_redacted()
    {
        _server.SetDefault(HookPath, r => ScriptedResponse.Text(403, $"invalid_token for {HookUrl} ({r.Path})"));
        using var http = NewClient();

        var ex = await DeliveryFailure(() => Notifier(http).PostAsync("#incident-autosave", "x"));

        Assert.Contains("invalid_token for [redacted]", ex.Message);
        AssertNoSecrets(ex, Secrets);
    }

    [Fact]
    public async Task A_slow_response_times_out_as_a_transient_failure_without_status()
    {
        _server.Enqueue(HookPath, ScriptedResponse.SlackOk with { Delay = TimeSpan.FromSeconds(20) });
        using var http = NewClient(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        var ex = await DeliveryFailure(() => Notifier(http).PostAsync("#incident-autosave", "x"));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.True(ex.IsTransient);
        Assert.Null(ex.StatusCode);
        Assert.Contains("timed out after 0.3 s", ex.Message);
        Assert.Single(_server.RequestsTo(HookPath));
        AssertNoSecrets(ex, Secrets);
    }

    [Fact]
    public async Task Connection_refused_is_a_transient_failure_without_status()
    {
        var closed = RecordingServer.UnusedLoopbackUri(HookPath);
        using var http = NewClient();
        var notifier = new SlackWebhookNotifier(http, new SlackOptions { Webhooks = new() { ["ops"] = closed.ToString() } });

        var ex = await DeliveryFailure(() => notifier.PostAsync("#ops", "x"));

        Assert.True(ex.IsTransient);
        Assert.Null(ex.StatusCode);
        Assert.Contains("connection failed", ex.Message);
        AssertNoSecrets(ex, closed.ToString(), HookPath, SecretToken);
    }

    [Fact]
    public async Task Caller_cancellation_propagates_as_OperationCanceledException()
    {
        _server.Enqueue(HookPath, ScriptedResponse.SlackOk with { Delay = TimeSpan.FromSeconds(20) });
        using var http = NewClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Notifier(http).PostAsync("#incident-autosave", "x", cts.Token));

        Assert.IsNotType<DeliveryException>(ex);
    }

    [Fact]
    public async Task Queued_failure_then_default_success_delivers_on_the_second_call()
    {
        _server.UseSlackDefaults(HookPath);
        _server.Enqueue(HookPath, ScriptedResponse.Text(500, "rollup_error"));
        using var http = NewClient();
        var notifier = Notifier(http);

        var first = await DeliveryFailure(() => notifier.PostAsync("#incident-autosave", "one"));
        await notifier.PostAsync("#incident-autosave", "two");

        Assert.True(first.IsTransient);
        Assert.Equal(["one", "two"], _server.RequestsTo(HookPath).Select(r => Str(r.JsonBody(), "text")));
    }

    [Theory]
    [InlineData("http://hooks.slack.com/services/T1/B1/" + SecretToken)]
    [InlineData("ftp://hooks.slack.com/services/T1/B1/" + SecretToken)]
    [InlineData("hooks.slack.com/services/T1/B1/" + SecretToken)]
    public void Rejects_non_https_non_loopback_webhooks_without_echoing_them(string url)
    {
        using var http = NewClient();

        var ex = Assert.Throws<ArgumentException>(() =>
            new SlackWebhookNotifier(http, new SlackOptions { Webhooks = new() { ["ops"] = url } }));

        Assert.Contains("'ops'", ex.Message);
        AssertNoSecrets(ex, SecretToken);
    }

    [Theory]
    [InlineData("https://hooks.slack.com/services/T1/B1/abc")]
    [InlineData("http://localhost:8080/hook")]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://[::1]:8080/hook")]
    public void Accepts_https_and_loopback_http(string url)
    {
        using var http = NewClient();

        var notifier = new SlackWebhookNotifier(http, new SlackOptions { Webhooks = new() { ["ops"] = url } });

        Assert.True(notifier.HasWebhookFor("#ops"));
    }

    [Fact]
    public void Keys_normalising_to_the_same_channel_with_different_urls_are_rejected()
    {
        using var http = NewClient();

        var ex = Assert.Throws<ArgumentException>(() => new SlackWebhookNotifier(http, new SlackOptions
        {
            Webhooks = new() { ["incident-autosave"] = "https://hooks.slack.com/a", ["incident_autosave"] = "https://hooks.slack.com/b" },
        }));

        Assert.Contains("incident_autosave", ex.Message);
        Assert.DoesNotContain("hooks.slack.com", ex.Message);
    }

    [Fact]
    public void ToString_of_options_and_notifier_never_shows_urls()
    {
        using var http = NewClient();
        var options = new SlackOptions { Webhooks = new() { ["incident_autosave"] = HookUrl } };

        Assert.DoesNotContain(SecretToken, options.ToString());
        Assert.Contains("incident_autosave", options.ToString());
        Assert.DoesNotContain(SecretToken, new SlackWebhookNotifier(http, options).ToString());
    }
}
