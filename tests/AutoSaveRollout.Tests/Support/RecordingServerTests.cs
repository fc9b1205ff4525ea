using System.Net;
using System.Text;
using AutoSaveRollout.Tests.Support;
using static AutoSaveRollout.Tests.Support.HttpTestSupport;

namespace AutoSaveRollout.Tests.Support;

public sealed class RecordingServerTests : IAsyncLifetime
{
    private RecordingServer _server = null!;

    public async Task InitializeAsync() => _server = await RecordingServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public void Listens_on_a_real_loopback_port()
    {
        Assert.Equal("127.0.0.1", _server.BaseUri.Host);
        Assert.NotEqual(0, _server.BaseUri.Port);
        Assert.Equal("/", _server.BaseUri.AbsolutePath);
    }

    [Fact]
    public async Task Records_method_path_query_headers_and_body()
    {
        _server.SetDefault("/a/b", ScriptedResponse.Text(201, "made") with { Headers = new Dictionary<string, string> { ["X-Reply"] = "1" } });
        using var http = NewClient();
        using var request = new HttpRequestMessage(HttpMethod.Put, _server.Url("/a/b?x=1&y=%20z"))
        {
            Content = new StringContent("héllo", Encoding.UTF8, "text/plain"),
        };
        request.Headers.Add("X-Custom", "v");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("made", await response.Content.ReadAsStringAsync());
        Assert.Equal("1", response.Headers.GetValues("X-Reply").Single());
        var recorded = Assert.Single(_server.RequestsTo("/a/b"));
        Assert.Equal("PUT", recorded.Method);
        Assert.Equal("?x=1&y=%20z", recorded.QueryString);
        Assert.Equal("/a/b?x=1&y=%20z", recorded.RawTarget);
        Assert.Equal(" z", recorded.Query["y"]);
        Assert.Equal("v", recorded.Header("x-custom"));
        Assert.Equal("text/plain; charset=utf-8", recorded.Headers["CONTENT-TYPE"]);
        Assert.Equal("héllo", recorded.Body);
        Assert.True(recorded.ReceivedAt <= DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Unscripted_paths_get_404_unless_a_fallback_is_set()
    {
        using var http = NewClient();

        using var first = await http.GetAsync(_server.Url("/nothing"));
        _server.UseFlagServiceDefaults(202);
        using var second = await http.PostAsync(_server.Url("/flags/x/rollback"), new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, first.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(2, _server.Requests.Count);
    }

    [Fact]
    public async Task Queued_one_shots_are_used_in_order_before_the_default()
    {
        _server.SetDefault("/p", ScriptedResponse.Text(200, "default"));
        _server.Enqueue("/p", ScriptedResponse.Text(500, "first"), ScriptedResponse.Text(503, "second"));
        using var http = NewClient();

        var statuses = new List<int>();
        for (var i = 0; i < 4; i++)
        {
            using var response = await http.GetAsync(_server.Url("/p"));
            statuses.Add((int)response.StatusCode);
        }

        Assert.Equal([500, 503, 200, 200], statuses);
    }

    [Fact]
    public async Task PagerDuty_defaults_echo_the_dedup_key()
    {
        _server.UsePagerDutyDefaults();
        using var http = NewClient();

        using var response = await http.PostAsync(_server.Url("/v2/enqueue"), new StringContent("""{"dedup_key":"k1"}"""));

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Contains("\"dedup_key\":\"k1\"", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task WaitForRequests_returns_once_enough_arrived_and_times_out_otherwise()
    {
        using var http = NewClient();
        var waiting = _server.WaitForRequestsAsync("/w", 2, TimeSpan.FromSeconds(5));
        (await http.GetAsync(_server.Url("/w"))).Dispose();
        (await http.GetAsync(_server.Url("/other"))).Dispose();
        (await http.GetAsync(_server.Url("/w"))).Dispose();

        Assert.Equal(2, (await waiting).Count);
        await Assert.ThrowsAsync<TimeoutException>(() => _server.WaitForRequestsAsync("/w", 3, TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Dispose_does_not_wait_for_delayed_responses()
    {
        var server = await RecordingServer.StartAsync();
        server.SetDefault("/slow", ScriptedResponse.Text(200) with { Delay = TimeSpan.FromSeconds(30) });
        using var http = NewClient(TimeSpan.FromSeconds(30));
        var pending = http.GetAsync(server.Url("/slow"));
        await server.WaitForRequestsAsync("/slow", 1, TimeSpan.FromSeconds(5));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await server.DisposeAsync();

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        await Assert.ThrowsAnyAsync<Exception>(() => pending);
    }

    [Fact]
    public async Task Unused_loopback_uri_refuses_connections()
    {
        using var http = NewClient();

        var ex = await Assert.ThrowsAsync<HttpRequestException>(() => http.GetAsync(RecordingServer.UnusedLoopbackUri()));

        Assert.Equal(HttpRequestError.ConnectionError, ex.HttpRequestError);
    }
}
