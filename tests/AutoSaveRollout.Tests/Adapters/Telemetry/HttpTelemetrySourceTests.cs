using System.Diagnostics;
using System.Text;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Tests.Support;
using static AutoSaveRollout.Tests.Support.HttpTestSupport;

namespace AutoSaveRollout.Tests.Adapters.Telemetry;

public sealed class HttpTelemetrySourceTests : IAsyncLifetime
{
    private const string Token = "telemetryTOKENsecret-1234";
    private const string EventsPath = "/autosave/events";
    private static readonly TimeWindow Window = TimeWindow.StartingAt(new DateTimeOffset(2026, 11, 20, 10, 15, 0, TimeSpan.Zero));
    private RecordingServer _server = null!;

    public async Task InitializeAsync() => _server = await RecordingServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private HttpTelemetrySource Source(HttpClient http, string pathAndQuery = EventsPath, string? token = null, TimeSpan? idle = null, int maxLine = 1 << 20) =>
        new(http, new HttpTelemetrySourceOptions
        {
            Url = _server.Url(pathAndQuery),
            Token = token,
            ReadIdleTimeout = idle ?? TimeSpan.FromSeconds(30),
            MaxLineChars = maxLine,
        });

    private string SourceName => _server.Url(EventsPath).ToString();

    private static async Task<List<RawLine>> ReadAll(ITelemetrySource source, TimeWindow? window = null)
    {
        var lines = new List<RawLine>();
        await foreach (var line in source.ReadWindowAsync(window ?? Window)) lines.Add(line);
        return lines;
    }

    [Fact]
    public async Task Requests_the_window_with_rfc3339_bounds_url_encoded()
    {
        _server.SetDefault(EventsPath, ScriptedResponse.JsonLines([]));
        using var http = NewClient();

        await ReadAll(Source(http));

        var request = Assert.Single(_server.Requests);
        Assert.Equal("GET", request.Method);
        Assert.Equal($"{EventsPath}?from=2026-11-20T10%3A15%3A00Z&to=2026-11-20T10%3A30%3A00Z", request.RawTarget);
        Assert.Equal("2026-11-20T10:15:00Z", request.Query["from"]);
        Assert.Equal("2026-11-20T10:30:00Z", request.Query["to"]);
        Assert.Null(request.Header("Authorization"));
        Assert.Contains("application/x-ndjson", request.Header("Accept"));
    }

    [Theory]
    [InlineData("?tenant=a%20b", "?tenant=a%20b&from=")]
    [InlineData("?tenant=x&", "?tenant=x&from=")]
    [InlineData("?", "?from=")]
    [InlineData("#frag", "?from=")]
    public async Task Appends_bounds_to_an_existing_query_and_keeps_the_query_out_of_Source(string suffix, string expectedQueryStart)
    {
        _server.SetDefault(EventsPath, ScriptedResponse.JsonLines(["{}"]));
        using var http = NewClient();

        var lines = await ReadAll(Source(http, EventsPath + suffix));

        var request = Assert.Single(_server.Requests);
        Assert.StartsWith(EventsPath + expectedQueryStart + "2026-11-20T10%3A15%3A00Z&to=", request.RawTarget);
        Assert.Equal(SourceName, Assert.Single(lines).Source);
    }

    [Fact]
    public async Task Sends_the_bearer_token_and_keeps_it_out_of_Source_and_Description()
    {
        _server.SetDefault(EventsPath, ScriptedResponse.JsonLines(["{}"]));
        using var http = NewClient();
        var source = Source(http, token: Token);

        var lines = await ReadAll(source);

        Assert.Equal("Bearer " + Token, Assert.Single(_server.Requests).Header("Authorization"));
        Assert.Equal(SourceName, Assert.Single(lines).Source);
        Assert.Equal("http " + SourceName, source.Description);
        Assert.DoesNotContain(Token, source.ToString());
    }

    [Fact]
    public async Task Strips_the_bom_handles_crlf_passes_blank_lines_and_keeps_a_last_line_without_newline()
    {
        var body = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.UTF8.GetBytes("{\"a\":1}\r\n\r\n{\"b\":\"é\"}\n   \n{\"c\":3}")).ToArray();
        _server.SetDefault(EventsPath, new ScriptedResponse { BodyBytes = body, ContentType = "application/x-ndjson" });
        using var http = NewClient();

        var lines = await ReadAll(Source(http));

        Assert.Equal(
            [
                new RawLine(SourceName, 1, "{\"a\":1}"),
                new RawLine(SourceName, 2, ""),
                new RawLine(SourceName, 3, "{\"b\":\"é\"}"),
                new RawLine(SourceName, 4, "   "),
                new RawLine(SourceName, 5, "{\"c\":3}"),
            ],
            lines);
    }

    [Theory]
    [InlineData("", new string[0])]
    [InlineData("\n", new[] { "" })]
    [InlineData("a\n", new[] { "a" })]
    [InlineData("a", new[] { "a" })]
    [InlineData("a\r\nb\r\n", new[] { "a", "b" })]
    [InlineData("a\rb\n", new[] { "a\rb" })]
    [InlineData("a\n\n\nb", new[] { "a", "", "", "b" })]
    [InlineData("\uFEFF\uFEFFx\n", new[] { "\uFEFFx" })]
    public async Task Splits_on_lf_only(string body, string[] expected)
    {
        _server.SetDefault(EventsPath, ScriptedResponse.Text(200, body));
        using var http = NewClient();

        var lines = await ReadAll(Source(http));

        Assert.Equal(expected, lines.Select(l => l.Text));
        Assert.Equal(Enumerable.Range(1, expected.Length).Select(i => (long)i), lines.Select(l => l.LineNumber));
    }

    [Fact]
    public async Task Serves_lines_chosen_per_window()
    {
        _server.ServeJsonLines(EventsPath, r => [$"{{\"from\":\"{r.Query["from"]}\"}}"]);
        using var http = NewClient();

        var lines = await ReadAll(Source(http), Window.Next);

        Assert.Equal("{\"from\":\"2026-11-20T10:30:00Z\"}", Assert.Single(lines).Text);
    }

    [Fact]
    public async Task Yields_lines_while_the_body_is_still_arriving()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _server.SetHandler(EventsPath, async (context, _) =>
        {
            context.Response.ContentType = "application/x-ndjson";
            await context.Response.Body.WriteAsync("{\"n\":1}\n{\"n\":2}\n"u8.ToArray());
            await context.Response.Body.FlushAsync();
            await release.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await context.Response.Body.WriteAsync("{\"n\":3}"u8.ToArray());
        });
        using var http = NewClient();
        var timeout = TimeSpan.FromSeconds(5);

        await using var lines = Source(http).ReadWindowAsync(Window).GetAsyncEnumerator();
        Assert.True(await lines.MoveNextAsync().AsTask().WaitAsync(timeout));
        Assert.Equal("{\"n\":1}", lines.Current.Text);
        Assert.True(await lines.MoveNextAsync().AsTask().WaitAsync(timeout));
        Assert.Equal(new RawLine(SourceName, 2, "{\"n\":2}"), lines.Current);
        Assert.False(release.Task.IsCompleted); // the server has not finished the body yet

        release.SetResult();
        Assert.True(await lines.MoveNextAsync().AsTask().WaitAsync(timeout));
        Assert.Equal(new RawLine(SourceName, 3, "{\"n\":3}"), lines.Current);
        Assert.False(await lines.MoveNextAsync().AsTask().WaitAsync(timeout));
    }

    [Fact]
    public async Task Decodes_a_multibyte_character_split_across_chunks()
    {
        _server.SetHandler(EventsPath, async (context, _) =>
        {
            await context.Response.Body.WriteAsync(new byte[] { 0x7B, 0xC3 });
            await context.Response.Body.FlushAsync();
            await Task.Delay(50);
            await context.Response.Body.WriteAsync(new byte[] { 0xA9, 0x7D, 0x0A });
        });
        using var http = NewClient();

        var lines = await ReadAll(Source(http));

        Assert.Equal("{é}", Assert.Single(lines).Text);
    }

    [Fact]
    public async Task A_stalled_body_fails_transiently_after_the_idle_timeout()
    {
        _server.SetHandler(EventsPath, async (context, _) =>
        {
            await context.Response.Body.WriteAsync("{\"n\":1}\n"u8.ToArray());
            await context.Response.Body.FlushAsync();
            try { await Task.Delay(TimeSpan.FromSeconds(20), context.RequestAborted); } catch (OperationCanceledException) { }
        });
        using var http = NewClient();
        var read = new List<RawLine>();
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<TelemetrySourceException>(async () =>
        {
            await foreach (var line in Source(http, token: Token, idle: TimeSpan.FromMilliseconds(300)).ReadWindowAsync(Window)) read.Add(line);
        });

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.Equal("{\"n\":1}", Assert.Single(read).Text);
        Assert.True(ex.IsTransient);
        Assert.Contains("no data for 0.3 s after line 1", ex.Message);
        AssertNoSecrets(ex, Token);
    }

    [Fact]
    public async Task A_line_longer_than_the_limit_fails_permanently()
    {
        _server.SetDefault(EventsPath, ScriptedResponse.Text(200, "short\r\n" + new string('x', 101) + "\n"));
        using var http = NewClient();
        var read = new List<RawLine>();

        var ex = await Assert.ThrowsAsync<TelemetrySourceException>(async () =>
        {
            await foreach (var line in Source(http, maxLine: 100).ReadWindowAsync(Window)) read.Add(line);
        });

        Assert.False(ex.IsTransient);
        Assert.Contains("line 2 is longer than 100 characters", ex.Message);
        Assert.Equal("short", Assert.Single(read).Text);
    }

    [Fact]
    public async Task A_line_exactly_at_the_limit_with_crlf_is_accepted()
    {
        _server.SetDefault(EventsPath, ScriptedResponse.Text(200, new string('x', 100) + "\r\n"));
        using var http = NewClient();

        var lines = await ReadAll(Source(http, maxLine: 100));

        Assert.Equal(100, Assert.Single(lines).Text.Length);
    }

    [Theory]
    [InlineData(500, true)]
    [InlineData(503, true)]
    [InlineData(408, true)]
    [InlineData(429, true)]
    [InlineData(400, false)]
    [InlineData(401, false)]
    [InlineData(404, false)]
    public async Task Non_2xx_statuses_are_classified(int status, bool transient)
    {
        _server.SetDefault(EventsPath, ScriptedResponse.Text(status, $"denied for Bearer {Token}"));
        using var http = NewClient();

        var ex = await Assert.ThrowsAsync<TelemetrySourceException>(() => ReadAll(Source(http, token: Token)));

        Assert.Equal(transient, ex.IsTransient);
        Assert.Contains($"HTTP {status} denied for Bearer [redacted]", ex.Message);
        Assert.Contains(EventsPath, ex.Message);
        Assert.DoesNotContain("from=", ex.Message);
        AssertNoSecrets(ex, Token);
    }

    [Fact]
    public async Task Slow_headers_time_out_transiently()
    {
        _server.SetDefault(EventsPath, ScriptedResponse.JsonLines(["{}"]) with { Delay = TimeSpan.FromSeconds(20) });
        using var http = NewClient(TimeSpan.FromMilliseconds(300));
        var clock = Stopwatch.StartNew();

        var ex = await Assert.ThrowsAsync<TelemetrySourceException>(() => ReadAll(Source(http, token: Token)));

        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
        Assert.True(ex.IsTransient);
        Assert.Contains("timed out", ex.Message);
        AssertNoSecrets(ex, Token);
    }

    [Fact]
    public async Task Connection_refused_fails_transiently()
    {
        using var http = NewClient();
        var source = new HttpTelemetrySource(http, new HttpTelemetrySourceOptions { Url = RecordingServer.UnusedLoopbackUri(EventsPath), Token = Token });

        var ex = await Assert.ThrowsAsync<TelemetrySourceException>(() => ReadAll(source));

        Assert.True(ex.IsTransient);
        Assert.Contains("connection failed", ex.Message);
        AssertNoSecrets(ex, Token);
    }

    [Fact]
    public async Task Caller_cancellation_propagates_as_OperationCanceledException()
    {
        _server.SetDefault(EventsPath, ScriptedResponse.JsonLines(["{}"]) with { Delay = TimeSpan.FromSeconds(20) });
        using var http = NewClient();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in Source(http).ReadWindowAsync(Window, cts.Token)) { }
        });

        Assert.IsNotType<TelemetrySourceException>(ex);
    }

    [Theory]
    [InlineData("http://telemetry.example.com/events", null, true)]
    [InlineData("https://telemetry.example.com/events", Token, true)]
    [InlineData("http://127.0.0.1:8080/events", Token, true)]
    [InlineData("http://telemetry.example.com/events", Token, false)]
    [InlineData("https://u:p@telemetry.example.com/events", null, false)]
    [InlineData("ftp://telemetry.example.com/events", null, false)]
    public void Validates_the_url_and_requires_https_when_a_token_is_set(string url, string? token, bool accepted)
    {
        using var http = NewClient();
        var options = new HttpTelemetrySourceOptions { Url = new Uri(url), Token = token };

        if (accepted)
        {
            Assert.Equal(new Uri(url).GetLeftPart(UriPartial.Path), new HttpTelemetrySource(http, options).Source);
        }
        else
        {
            var ex = Assert.Throws<ArgumentException>(() => new HttpTelemetrySource(http, options));
            AssertNoSecrets(ex, Token, "u:p");
        }
        Assert.DoesNotContain(Token, options.ToString());
    }
}
