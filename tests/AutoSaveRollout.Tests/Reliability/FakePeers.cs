using System.Text;
using System.Text.Json.Nodes;
using AutoSaveRollout.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>Which outward peer a request went to.</summary>
internal enum PeerKind { Slack, PagerDuty, Flag }

/// <summary>One outward request as a peer saw it: its deduplication key and whether that key was seen before.</summary>
/// <param name="Kind">Peer.</param>
/// <param name="Key">Slack: webhook path + text; PagerDuty: dedup_key; flag service: Idempotency-Key.</param>
/// <param name="Repeat">The key had been received before (a redelivery).</param>
internal sealed record PeerCall(PeerKind Kind, string Key, bool Repeat);

/// <summary>
/// Slack, PagerDuty and the rollback flag service as Kestrel listeners on 127.0.0.1 (<see cref="RecordingServer"/>), with
/// the deduplication the real services do:
/// <list type="bullet">
/// <item>Slack incoming webhooks have none: every post is a message (counted per webhook and text).</item>
/// <item>PagerDuty Events v2 opens one incident per <c>dedup_key</c>; later triggers with the same key join it (202).</item>
/// <item>The flag service performs one rollback per <c>Idempotency-Key</c>; a repeat with the same payload gets the original
/// 200 again, a repeat with another payload 422 (IETF draft-ietf-httpapi-idempotency-key-header).</item>
/// </list>
/// <see cref="Interceptor"/> is called before each response is written and after it was written, so a test can kill the
/// process under test at exactly those points.
/// </summary>
internal sealed class FakePeers : IAsyncDisposable
{
    /// <summary>Webhook path of <c>#autosave-rollout</c> (ok and warn). The last segment is the secret part.</summary>
    public const string OkHookPath = "/services/T0AUTOSAVE/B0ROLLOUT/okhook5ecretZq81c";

    /// <summary>Webhook path of <c>#incident-autosave</c>.</summary>
    public const string IncidentHookPath = "/services/T0AUTOSAVE/B0INCIDENT/inchook5ecretXv27d";

    /// <summary>PagerDuty routing key (secret).</summary>
    public const string RoutingKey = "R0UTE5ECRETk3y0123456789abcdef";

    /// <summary>Flag-service bearer token (secret).</summary>
    public const string FlagToken = "fl4gT0ken5ecretQw77aa";

    /// <summary>The path the flag service answers for flag <c>autosave</c>.</summary>
    public const string FlagPath = "/flags/autosave/rollback";

    private readonly object _gate = new();
    private readonly Dictionary<string, int> _slack = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _incidents = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _incidentBodies = new(StringComparer.Ordinal);
    private readonly List<string> _incidentOrder = [];
    private readonly Dictionary<string, string> _flagBodies = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _flagCalls = new(StringComparer.Ordinal);
    private readonly List<(string Key, string From, string To)> _rollbacks = [];
    private readonly List<string> _conflicts = [];

    private FakePeers(RecordingServer slack, RecordingServer pagerDuty, RecordingServer flags)
    {
        Slack = slack;
        PagerDuty = pagerDuty;
        Flags = flags;
    }

    public RecordingServer Slack { get; }
    public RecordingServer PagerDuty { get; }
    public RecordingServer Flags { get; }

    /// <summary>
    /// Called with each request before its response (<c>responded</c> false) and after the response was written (true).
    /// Returning true before the response drops the connection without answering.
    /// </summary>
    public Func<PeerCall, bool, bool>? Interceptor { get; set; }

    /// <summary>
    /// When set and returning a value for a request, the peer answers with that status and plain-text body instead
    /// (nothing is delivered), e.g. an error that echoes the caller's credentials back.
    /// </summary>
    public Func<PeerKind, RecordedRequest, (int Status, string Body)?>? Failure { get; set; }

    /// <summary>How long each peer takes to answer (default none); a slower peer widens the windows a kill can hit.</summary>
    public TimeSpan ResponseDelay { get; set; }

    /// <summary>The secret values configured, for leak scans (webhook URLs and their secret segments, routing key, token).</summary>
    public IReadOnlyList<string> Secrets =>
    [
        Slack.Url(OkHookPath).ToString(), Slack.Url(IncidentHookPath).ToString(), OkHookPath, IncidentHookPath,
        OkHookPath[(OkHookPath.LastIndexOf('/') + 1)..], IncidentHookPath[(IncidentHookPath.LastIndexOf('/') + 1)..],
        RoutingKey, FlagToken,
    ];

    public static async Task<FakePeers> StartAsync()
    {
        var peers = new FakePeers(await RecordingServer.StartAsync(), await RecordingServer.StartAsync(), await RecordingServer.StartAsync());
        peers.Slack.SetHandler(OkHookPath, (c, r) => peers.HandleSlackAsync(c, r));
        peers.Slack.SetHandler(IncidentHookPath, (c, r) => peers.HandleSlackAsync(c, r));
        peers.PagerDuty.SetHandler("/v2/enqueue", peers.HandlePagerDutyAsync);
        peers.Flags.SetHandler(FlagPath, peers.HandleFlagAsync);
        return peers;
    }

    /// <summary>Settings as environment variables for the host process.</summary>
    public IReadOnlyDictionary<string, string> Environment() => new Dictionary<string, string>
    {
        ["Slack__Webhooks__autosave_rollout"] = Slack.Url(OkHookPath).ToString(),
        ["Slack__Webhooks__incident_autosave"] = Slack.Url(IncidentHookPath).ToString(),
        ["PagerDuty__RoutingKey"] = RoutingKey,
        ["PagerDuty__EventsUrl"] = PagerDuty.Url("/v2/enqueue").ToString(),
        ["FlagService__BaseUrl"] = Flags.BaseUri.ToString(),
        ["FlagService__Token"] = FlagToken,
    };

    /// <summary>The same settings as in-process configuration.</summary>
    public IConfiguration Configuration() => new ConfigurationBuilder()
        .AddInMemoryCollection(Environment().Select(kv => KeyValuePair.Create(kv.Key.Replace("__", ":"), (string?)kv.Value)))
        .Build();

    /// <summary>Slack posts per "{webhook path} {text}".</summary>
    public IReadOnlyDictionary<string, int> SlackPosts
    {
        get { lock (_gate) return new Dictionary<string, int>(_slack); }
    }

    /// <summary>PagerDuty incidents (distinct dedup keys) in the order they were opened, with the triggers each received.</summary>
    public IReadOnlyList<(string DedupKey, int Triggers)> Incidents
    {
        get { lock (_gate) return _incidentOrder.Select(k => (k, _incidents[k])).ToList(); }
    }

    /// <summary>Rollbacks the flag service performed (one per Idempotency-Key), in order.</summary>
    public IReadOnlyList<(string Key, string From, string To)> Rollbacks
    {
        get { lock (_gate) return _rollbacks.ToList(); }
    }

    /// <summary>Flag-service requests per Idempotency-Key.</summary>
    public IReadOnlyDictionary<string, int> FlagCalls
    {
        get { lock (_gate) return new Dictionary<string, int>(_flagCalls); }
    }

    /// <summary>Problems a real peer would have refused: a key reused with another payload, bad credentials.</summary>
    public IReadOnlyList<string> Conflicts
    {
        get { lock (_gate) return _conflicts.ToList(); }
    }

    /// <summary>Forgets everything received (handlers stay).</summary>
    public void Clear()
    {
        lock (_gate)
        {
            _slack.Clear();
            _incidents.Clear();
            _incidentBodies.Clear();
            _incidentOrder.Clear();
            _flagBodies.Clear();
            _flagCalls.Clear();
            _rollbacks.Clear();
            _conflicts.Clear();
        }
        Slack.ClearRequests();
        PagerDuty.ClearRequests();
        Flags.ClearRequests();
    }

    private Task HandleSlackAsync(HttpContext context, RecordedRequest r)
    {
        if (Failure?.Invoke(PeerKind.Slack, r) is { } failure) return FailAsync(context, failure);
        var text = (string?)JsonNode.Parse(r.Body)?["text"] ?? "";
        var key = r.Path + " " + text;
        bool repeat;
        lock (_gate)
        {
            repeat = _slack.TryGetValue(key, out var n);
            _slack[key] = n + 1;
        }
        return RespondAsync(context, new PeerCall(PeerKind.Slack, key, repeat), 200, "text/plain; charset=utf-8", "ok");
    }

    private Task HandlePagerDutyAsync(HttpContext context, RecordedRequest r)
    {
        if (Failure?.Invoke(PeerKind.PagerDuty, r) is { } failure) return FailAsync(context, failure);
        var body = JsonNode.Parse(r.Body)!;
        var key = (string?)body["dedup_key"] ?? "";
        bool repeat;
        lock (_gate)
        {
            if ((string?)body["routing_key"] != RoutingKey) _conflicts.Add("pagerduty: wrong routing key");
            repeat = _incidents.TryGetValue(key, out var n);
            _incidents[key] = n + 1;
            if (!repeat)
            {
                _incidentOrder.Add(key);
                _incidentBodies[key] = r.Body;
            }
            else if (_incidentBodies[key] != r.Body)
            {
                _conflicts.Add($"pagerduty: dedup_key {key} re-sent with another event");
            }
        }
        var answer = new JsonObject { ["status"] = "success", ["message"] = "Event processed", ["dedup_key"] = key }.ToJsonString();
        return RespondAsync(context, new PeerCall(PeerKind.PagerDuty, key, repeat), 202, "application/json", answer);
    }

    private Task HandleFlagAsync(HttpContext context, RecordedRequest r)
    {
        if (Failure?.Invoke(PeerKind.Flag, r) is { } failure) return FailAsync(context, failure);
        var key = r.Header("Idempotency-Key") ?? "";
        var status = 200;
        bool repeat;
        lock (_gate)
        {
            if (r.Header("Authorization") != "Bearer " + FlagToken) _conflicts.Add("flag: wrong bearer token");
            _flagCalls[key] = _flagCalls.GetValueOrDefault(key) + 1;
            repeat = _flagBodies.TryGetValue(key, out var first);
            if (!repeat)
            {
                _flagBodies[key] = r.Body;
                var body = JsonNode.Parse(r.Body)!;
                _rollbacks.Add((key, (string)body["from_phase"]!, (string)body["to_phase"]!));
            }
            else if (first != r.Body)
            {
                _conflicts.Add($"flag: Idempotency-Key {key} reused with another payload");
                status = 422;
            }
        }
        var answer = new JsonObject { ["status"] = "rolled_back", ["idempotency_key"] = key }.ToJsonString();
        return RespondAsync(context, new PeerCall(PeerKind.Flag, key, repeat), status, "application/json", answer);
    }

    private static async Task FailAsync(HttpContext context, (int Status, string Body) failure)
    {
        var bytes = Encoding.UTF8.GetBytes(failure.Body);
        context.Response.StatusCode = failure.Status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.ContentLength = bytes.Length;
        try { await context.Response.Body.WriteAsync(bytes, context.RequestAborted); }
        catch (OperationCanceledException) { }
    }

    private async Task RespondAsync(HttpContext context, PeerCall call, int status, string contentType, string body)
    {
        if (Interceptor?.Invoke(call, false) == true)
        {
            context.Abort();
            return;
        }
        if (ResponseDelay > TimeSpan.Zero)
        {
            try { await Task.Delay(ResponseDelay, context.RequestAborted); }
            catch (OperationCanceledException) { return; }
        }
        var bytes = Encoding.UTF8.GetBytes(body);
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;
        context.Response.ContentLength = bytes.Length;
        try
        {
            await context.Response.Body.WriteAsync(bytes, context.RequestAborted);
            await context.Response.CompleteAsync();
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            return;
        }
        Interceptor?.Invoke(call, true);
    }

    public async ValueTask DisposeAsync()
    {
        await Slack.DisposeAsync();
        await PagerDuty.DisposeAsync();
        await Flags.DisposeAsync();
    }
}
