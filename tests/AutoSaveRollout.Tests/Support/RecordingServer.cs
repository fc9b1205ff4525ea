using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Tests.Support;

/// <summary>One request as the server received it.</summary>
/// <param name="Method">HTTP method, upper case (<c>POST</c>).</param>
/// <param name="Path">Decoded request path, e.g. <c>/flags/autosave/rollback</c>.</param>
/// <param name="RawTarget">Request target exactly as sent on the wire (path and query, still percent-encoded).</param>
/// <param name="QueryString">Raw query string including the leading <c>?</c>, or empty.</param>
/// <param name="Query">Decoded query parameters (multiple values joined with <c>,</c>).</param>
/// <param name="Headers">Request headers, names case-insensitive, multiple values joined with <c>, </c>.</param>
/// <param name="BodyBytes">Raw body bytes.</param>
/// <param name="ReceivedAt">When the server finished reading the request (UTC, system clock).</param>
public sealed record RecordedRequest(
    string Method,
    string Path,
    string RawTarget,
    string QueryString,
    IReadOnlyDictionary<string, string> Query,
    IReadOnlyDictionary<string, string> Headers,
    byte[] BodyBytes,
    DateTimeOffset ReceivedAt)
{
    /// <summary>The body decoded as UTF-8.</summary>
    public string Body => Encoding.UTF8.GetString(BodyBytes);

    /// <summary>The body parsed as JSON (throws when it is not JSON).</summary>
    public JsonNode? JsonBody() => JsonNode.Parse(Body);

    /// <summary>A header value, or null when absent.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;
}

/// <summary>
/// A scripted response. <see cref="BodyBytes"/>, when set, is sent verbatim instead of <see cref="Body"/>.
/// <see cref="Delay"/> is waited before anything is written (use it to provoke client timeouts; the wait ends early when
/// the client disconnects or the server is disposed).
/// </summary>
public sealed record ScriptedResponse
{
    /// <summary>HTTP status code.</summary>
    public int Status { get; init; } = 200;

    /// <summary>Body text (UTF-8).</summary>
    public string Body { get; init; } = "";

    /// <summary>Raw body; overrides <see cref="Body"/> when not null (e.g. to send a BOM or invalid UTF-8).</summary>
    public byte[]? BodyBytes { get; init; }

    /// <summary>Content-Type header; null sends none.</summary>
    public string? ContentType { get; init; } = "text/plain; charset=utf-8";

    /// <summary>Extra response headers, e.g. <c>Retry-After</c>.</summary>
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Wait before responding.</summary>
    public TimeSpan Delay { get; init; }

    /// <summary>A plain-text response.</summary>
    public static ScriptedResponse Text(int status, string body = "") => new() { Status = status, Body = body };

    /// <summary>A JSON response (<c>application/json; charset=utf-8</c>).</summary>
    public static ScriptedResponse Json(int status, string json) =>
        new() { Status = status, Body = json, ContentType = "application/json; charset=utf-8" };

    /// <summary>Slack's success: 200, <c>ok</c>, text/plain.</summary>
    public static ScriptedResponse SlackOk => Text(200, "ok");

    /// <summary>A Slack-style error: plain-text error code (e.g. 404 <c>channel_not_found</c>).</summary>
    public static ScriptedResponse SlackError(int status, string code) => Text(status, code);

    /// <summary>A 429 with <c>Retry-After: seconds</c> and the given plain-text body.</summary>
    public static ScriptedResponse TooManyRequests(int retryAfterSeconds, string body = "rate_limited") =>
        Text(429, body) with { Headers = new Dictionary<string, string> { ["Retry-After"] = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture) } };

    /// <summary>
    /// A JSONL body (<c>application/x-ndjson</c>): <paramref name="lines"/> joined by <paramref name="newline"/>,
    /// with a final newline when <paramref name="finalNewline"/>, prefixed by a UTF-8 BOM when <paramref name="bom"/>.
    /// </summary>
    public static ScriptedResponse JsonLines(IEnumerable<string> lines, bool bom = false, string newline = "\n", bool finalNewline = true)
    {
        var list = lines.ToList();
        var text = string.Join(newline, list) + (finalNewline && list.Count > 0 ? newline : "");
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bom) bytes = [0xEF, 0xBB, 0xBF, .. bytes];
        return new ScriptedResponse { Status = 200, BodyBytes = bytes, ContentType = "application/x-ndjson; charset=utf-8" };
    }

    /// <summary>
    /// PagerDuty Events v2 success for <paramref name="request"/>: 202
    /// <c>{"status":"success","message":"Event processed","dedup_key":…}</c>, echoing the request's dedup_key or
    /// inventing one (as PagerDuty does for a trigger without a key).
    /// </summary>
    public static ScriptedResponse PagerDutyAccepted(RecordedRequest request)
    {
        string? key = null;
        try { key = request.JsonBody()?["dedup_key"]?.GetValue<string>(); } catch (Exception) { }
        key ??= Guid.NewGuid().ToString("N");
        var body = new JsonObject { ["status"] = "success", ["message"] = "Event processed", ["dedup_key"] = key };
        return Json(202, body.ToJsonString());
    }

    /// <summary>PagerDuty Events v2 400 <c>{"status":"invalid event","message":"Event object is invalid","errors":[…]}</c>.</summary>
    public static ScriptedResponse PagerDutyInvalid(params string[] errors) =>
        Json(400, new JsonObject
        {
            ["status"] = "invalid event",
            ["message"] = "Event object is invalid",
            ["errors"] = new JsonArray(errors.Select(e => (JsonNode?)JsonValue.Create(e)).ToArray()),
        }.ToJsonString());
}

/// <summary>
/// A real Kestrel server on <c>http://127.0.0.1:&lt;free port&gt;</c> that records every request and answers from a
/// script. Stands in for Slack, PagerDuty, the flag service and a telemetry endpoint (one instance per fake service).
/// <para>
/// For each request the answer is chosen in this order: the next one-shot response queued for the path
/// (<see cref="Enqueue"/>), the raw handler for the path (<see cref="SetHandler"/>), the default responder for the path
/// (<see cref="SetDefault(string, ScriptedResponse)"/>), the server-wide fallback (<see cref="SetFallback(ScriptedResponse)"/>;
/// initially 404 <c>no scripted response</c>). Paths are matched exactly (ordinal, decoded path, no query).
/// </para>
/// All members are thread-safe. Dispose to stop the server.
/// </summary>
public sealed class RecordingServer : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly List<RecordedRequest> _requests = [];
    private readonly Dictionary<string, Queue<Func<RecordedRequest, ScriptedResponse>>> _queued = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<RecordedRequest, ScriptedResponse>> _defaults = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Func<HttpContext, RecordedRequest, Task>> _handlers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private Func<RecordedRequest, ScriptedResponse> _fallback = _ => ScriptedResponse.Text(404, "no scripted response");
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WebApplication? _app;

    private RecordingServer() { }

    /// <summary>Root URL, e.g. <c>http://127.0.0.1:54321/</c>.</summary>
    public Uri BaseUri { get; private set; } = null!;

    /// <summary>Starts a server on a free loopback port.</summary>
    public static async Task<RecordingServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var server = new RecordingServer();
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Run(server.HandleAsync);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        server._app = app;
        server.BaseUri = new Uri(address.TrimEnd('/') + "/");
        return server;
    }

    /// <summary>An absolute URL on this server, e.g. <c>Url("/v2/enqueue")</c>.</summary>
    public Uri Url(string pathAndQuery) => new(BaseUri, pathAndQuery.TrimStart('/'));

    /// <summary>Snapshot of every request received so far, in arrival order.</summary>
    public IReadOnlyList<RecordedRequest> Requests
    {
        get { lock (_gate) return _requests.ToArray(); }
    }

    /// <summary>Snapshot of the requests whose decoded path equals <paramref name="path"/>.</summary>
    public IReadOnlyList<RecordedRequest> RequestsTo(string path)
    {
        lock (_gate) return _requests.Where(r => r.Path == path).ToArray();
    }

    /// <summary>Forgets the recorded requests (scripts are kept).</summary>
    public void ClearRequests()
    {
        lock (_gate) _requests.Clear();
    }

    /// <summary>Answers every request to <paramref name="path"/> with <paramref name="response"/> (unless a one-shot is queued).</summary>
    public void SetDefault(string path, ScriptedResponse response) => SetDefault(path, _ => response);

    /// <summary>Answers every request to <paramref name="path"/> with <paramref name="responder"/>'s result (unless a one-shot is queued).</summary>
    public void SetDefault(string path, Func<RecordedRequest, ScriptedResponse> responder)
    {
        lock (_gate) _defaults[path] = responder;
    }

    /// <summary>Answers requests to paths without any script.</summary>
    public void SetFallback(ScriptedResponse response) => SetFallback(_ => response);

    /// <summary>Answers requests to paths without any script with <paramref name="responder"/>'s result.</summary>
    public void SetFallback(Func<RecordedRequest, ScriptedResponse> responder)
    {
        lock (_gate) _fallback = responder;
    }

    /// <summary>Queues one-shot responses for <paramref name="path"/>, used in order before its default (e.g. first 500, then 200).</summary>
    public void Enqueue(string path, params ScriptedResponse[] responses)
    {
        lock (_gate)
        {
            var queue = QueueFor(path);
            foreach (var r in responses) queue.Enqueue(_ => r);
        }
    }

    /// <summary>Queues one-shot responders for <paramref name="path"/>.</summary>
    public void Enqueue(string path, params Func<RecordedRequest, ScriptedResponse>[] responders)
    {
        lock (_gate)
        {
            var queue = QueueFor(path);
            foreach (var r in responders) queue.Enqueue(r);
        }
    }

    /// <summary>
    /// Handles <paramref name="path"/> with raw ASP.NET Core code (after queued one-shots), e.g. to stream a body in
    /// chunks or stall half-way. The request is already recorded and its body consumed.
    /// </summary>
    public void SetHandler(string path, Func<HttpContext, RecordedRequest, Task> handler)
    {
        lock (_gate) _handlers[path] = handler;
    }

    /// <summary>Serves JSONL at <paramref name="path"/>: <paramref name="lines"/> chooses the lines per request (e.g. by its <c>from</c>/<c>to</c>).</summary>
    public void ServeJsonLines(string path, Func<RecordedRequest, IEnumerable<string>> lines) =>
        SetDefault(path, r => ScriptedResponse.JsonLines(lines(r)));

    /// <summary>Slack-like: <paramref name="path"/> answers 200 <c>ok</c>.</summary>
    public void UseSlackDefaults(string path) => SetDefault(path, ScriptedResponse.SlackOk);

    /// <summary>PagerDuty-like: <paramref name="path"/> answers 202 JSON echoing the request's dedup_key.</summary>
    public void UsePagerDutyDefaults(string path = "/v2/enqueue") => SetDefault(path, ScriptedResponse.PagerDutyAccepted);

    /// <summary>Flag-service-like: every path without a script answers <paramref name="status"/> (200 or 202) with a small JSON body.</summary>
    public void UseFlagServiceDefaults(int status = 200) =>
        SetFallback(r => ScriptedResponse.Json(status, new JsonObject { ["status"] = "accepted", ["path"] = r.Path }.ToJsonString()));

    /// <summary>
    /// Waits until at least <paramref name="count"/> requests to <paramref name="path"/> (any path when null) have been
    /// recorded and returns them; throws <see cref="TimeoutException"/> after <paramref name="timeout"/>.
    /// </summary>
    public async Task<IReadOnlyList<RecordedRequest>> WaitForRequestsAsync(string? path, int count, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var matching = _requests.Where(r => path is null || r.Path == path).ToArray();
                if (matching.Length >= count) return matching;
                changed = _changed.Task;
            }
            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"expected {count} request(s) to {path ?? "any path"} within {timeout}; got {RequestsToOrAll(path).Count}");
            }
        }
    }

    /// <summary>A loopback URL on which nothing listens (the port was free a moment ago), for connection-refused tests.</summary>
    public static Uri UnusedLoopbackUri(string path = "/")
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return new Uri($"http://127.0.0.1:{port}{path}");
    }

    /// <summary>Stops the server; pending delayed responses are abandoned.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        if (_app is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try { await _app.StopAsync(cts.Token); } catch (OperationCanceledException) { }
            await _app.DisposeAsync();
        }
    }

    private Queue<Func<RecordedRequest, ScriptedResponse>> QueueFor(string path)
    {
        if (!_queued.TryGetValue(path, out var queue)) _queued[path] = queue = new();
        return queue;
    }

    private IReadOnlyList<RecordedRequest> RequestsToOrAll(string? path) => path is null ? Requests : RequestsTo(path);

    private async Task HandleAsync(HttpContext context)
    {
        var recorded = await RecordAsync(context);

        Func<RecordedRequest, ScriptedResponse>? responder = null;
        Func<HttpContext, RecordedRequest, Task>? handler = null;
        TaskCompletionSource changed;
        lock (_gate)
        {
            _requests.Add(recorded);
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

            if (_queued.TryGetValue(recorded.Path, out var queue) && queue.Count > 0) responder = queue.Dequeue();
            else if (_handlers.TryGetValue(recorded.Path, out var h)) handler = h;
            else responder = _defaults.GetValueOrDefault(recorded.Path) ?? _fallback;
        }
        changed.TrySetResult();

        if (handler is not null)
        {
            await handler(context, recorded);
            return;
        }

        var response = responder!(recorded);
        if (response.Delay > TimeSpan.Zero)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            try
            {
                await Task.Delay(response.Delay, linked.Token);
            }
            catch (OperationCanceledException)
            {
                context.Abort();
                return;
            }
        }

        context.Response.StatusCode = response.Status;
        if (response.ContentType is not null) context.Response.ContentType = response.ContentType;
        foreach (var (name, value) in response.Headers) context.Response.Headers[name] = value;
        var bytes = response.BodyBytes ?? Encoding.UTF8.GetBytes(response.Body);
        context.Response.ContentLength = bytes.Length;
        try
        {
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task<RecordedRequest> RecordAsync(HttpContext context)
    {
        var request = context.Request;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, context.RequestAborted);

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in request.Headers) headers[name] = string.Join(", ", values.ToArray());
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, values) in request.Query) query[name] = string.Join(",", values.ToArray());
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? request.Path + request.QueryString;

        return new RecordedRequest(
            request.Method,
            request.Path.Value ?? "/",
            rawTarget,
            request.QueryString.Value ?? "",
            query,
            headers,
            body.ToArray(),
            DateTimeOffset.UtcNow);
    }
}
