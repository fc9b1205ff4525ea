using System.Globalization;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.PagerDuty;

namespace AutoSaveRollout.Tests.Support;

/// <summary>One entry of a fake incident's log (REST API v2 <c>LogEntry</c>).</summary>
/// <param name="Type">e.g. <c>trigger_log_entry</c>, <c>acknowledge_log_entry</c>, <c>unacknowledge_log_entry</c>, <c>resolve_log_entry</c>.</param>
/// <param name="At">Its <c>created_at</c> (UTC).</param>
public sealed record FakeLogEntry(string Type, DateTimeOffset At);

/// <summary>A snapshot of one incident of <see cref="FakePagerDuty"/>.</summary>
/// <param name="Id">Incident id, e.g. <c>PINC0001</c>.</param>
/// <param name="Number">Incident number (1, 2, …).</param>
/// <param name="DedupKey">The Events v2 <c>dedup_key</c> that opened it (its <c>incident_key</c>).</param>
/// <param name="Status"><c>triggered</c>, <c>acknowledged</c> or <c>resolved</c>.</param>
/// <param name="CreatedAt">When the first trigger arrived, on the fake's clock, truncated to whole seconds as PagerDuty reports it.</param>
/// <param name="Priority">Priority name, or null.</param>
/// <param name="Triggers">Trigger events folded into it (1 for a fresh incident).</param>
/// <param name="Log">Its log, oldest first.</param>
public sealed record FakeIncident(string Id, int Number, string DedupKey, string Status, DateTimeOffset CreatedAt, string? Priority, int Triggers,
    IReadOnlyList<FakeLogEntry> Log);

/// <summary>
/// A stateful PagerDuty on one <see cref="RecordingServer"/> (Kestrel on 127.0.0.1), serving both APIs the monitor uses:
/// <list type="bullet">
/// <item>Events API v2 <c>POST /v2/enqueue</c>: a trigger opens an incident per <c>dedup_key</c> (later triggers with the
/// key of an open incident fold into it; after it is resolved the key opens a new one); acknowledge and resolve change the
/// open incident; 202 <c>{"status":"success","message":"Event processed","dedup_key":…}</c>, 400 "invalid event" for a
/// wrong routing key or a malformed event.</item>
/// <item>REST API v2: <c>GET /incidents</c> (<c>incident_key</c>, <c>statuses[]</c>, <c>date_range=all</c> — without it
/// only incidents of the last month, like the real default), <c>GET /incidents/{id}/log_entries</c> and
/// <c>GET /priorities</c> (P1..P5, most severe first), both paged by <c>limit</c>/<c>offset</c> and answered newest log
/// entry first, and <c>PUT /incidents/{id}</c> (priority change).</item>
/// </list>
/// REST requests are checked as the real service would: <c>Authorization: Token token=&lt;ApiToken&gt;</c> (else 401),
/// <c>Accept: application/vnd.pagerduty+json;version=2</c> (else 400), and on PUT <c>From</c> = a known user and
/// <c>Content-Type: application/json</c> (else 400). Each refusal is also listed in <see cref="Rejections"/>.
/// Times come from the <see cref="TimeProvider"/> given to <see cref="StartAsync"/> (scenario tests run on a simulated clock).
/// One-shot failures can still be scripted on <see cref="Server"/> (<see cref="RecordingServer.Enqueue(string, ScriptedResponse[])"/>).
/// </summary>
public sealed class FakePagerDuty : IAsyncDisposable
{
    /// <summary>REST API key the fake accepts.</summary>
    public const string ApiToken = "y_NbAkKc66ryYTWUXYEu";

    /// <summary>Events v2 routing key the fake accepts.</summary>
    public const string RoutingKey = "R0UTEfakePagerDuty0123456789abcd";

    /// <summary>Email of the only user (valid <c>From</c>).</summary>
    public const string UserEmail = "rollout-bot@example.com";

    /// <summary>The priorities, most severe first: (id, name).</summary>
    public static readonly IReadOnlyList<(string Id, string Name)> Priorities =
        [("PPRIO01", "P1"), ("PPRIO02", "P2"), ("PPRIO03", "P3"), ("PPRIO04", "P4"), ("PPRIO05", "P5")];

    private const string Accept = "application/vnd.pagerduty+json;version=2";
    private const int DefaultLimit = 25;

    private readonly object _gate = new();
    private readonly List<Incident> _incidents = [];
    private readonly List<(RecordedRequest Request, int Status, string Reason)> _rejections = [];
    private readonly TimeProvider _time;

    private FakePagerDuty(RecordingServer server, TimeProvider time)
    {
        Server = server;
        _time = time;
    }

    /// <summary>The underlying server (recorded requests, scripted one-shot failures).</summary>
    public RecordingServer Server { get; }

    /// <summary>Events API v2 endpoint: <c>{base}/v2/enqueue</c>.</summary>
    public Uri EventsUrl => Server.Url("/v2/enqueue");

    /// <summary>REST API root (the server's base URL).</summary>
    public Uri ApiUrl => Server.BaseUri;

    /// <summary>Every request received, in order.</summary>
    public IReadOnlyList<RecordedRequest> Requests => Server.Requests;

    /// <summary>Requests the fake refused, with the status sent and why.</summary>
    public IReadOnlyList<(RecordedRequest Request, int Status, string Reason)> Rejections
    {
        get { lock (_gate) return _rejections.ToList(); }
    }

    /// <summary>Snapshots of every incident, oldest first.</summary>
    public IReadOnlyList<FakeIncident> Incidents
    {
        get { lock (_gate) return _incidents.Select(i => i.Snapshot()).ToList(); }
    }

    /// <summary>Starts the fake; <paramref name="time"/> stamps incidents opened by trigger events.</summary>
    public static async Task<FakePagerDuty> StartAsync(TimeProvider time)
    {
        var fake = new FakePagerDuty(await RecordingServer.StartAsync(), time);
        fake.Server.SetFallback(fake.Respond);
        return fake;
    }

    /// <summary>Options for both clients: routing key, token, endpoints and the From user.</summary>
    public PagerDutyOptions Options() =>
        new() { RoutingKey = RoutingKey, EventsUrl = EventsUrl, ApiToken = ApiToken, ApiUrl = ApiUrl, From = UserEmail };

    /// <summary>The same as configuration entries (<c>PagerDuty:…</c>), e.g. for <c>PipelineFactory</c>.</summary>
    public IEnumerable<KeyValuePair<string, string?>> Settings() =>
    [
        new("PagerDuty:RoutingKey", RoutingKey), new("PagerDuty:EventsUrl", EventsUrl.ToString()),
        new("PagerDuty:ApiToken", ApiToken), new("PagerDuty:ApiUrl", ApiUrl.ToString()), new("PagerDuty:From", UserEmail),
    ];

    /// <summary>The newest incident opened under <paramref name="dedupKey"/>, or null.</summary>
    public FakeIncident? IncidentFor(string dedupKey)
    {
        lock (_gate) return _incidents.LastOrDefault(i => i.DedupKey == dedupKey)?.Snapshot();
    }

    /// <summary>A responder acknowledges the open incident of <paramref name="dedupKey"/> at <paramref name="at"/>.</summary>
    public void Acknowledge(string dedupKey, DateTimeOffset at) => Change(dedupKey, "acknowledged", "acknowledge_log_entry", at);

    /// <summary>The acknowledgement of the open incident of <paramref name="dedupKey"/> lapses (ack timeout): back to triggered.</summary>
    public void Unacknowledge(string dedupKey, DateTimeOffset at) => Change(dedupKey, "triggered", "unacknowledge_log_entry", at);

    /// <summary>A responder resolves the open incident of <paramref name="dedupKey"/> at <paramref name="at"/>.</summary>
    public void Resolve(string dedupKey, DateTimeOffset at) => Change(dedupKey, "resolved", "resolve_log_entry", at);

    /// <summary>Stops the server.</summary>
    public ValueTask DisposeAsync() => Server.DisposeAsync();

    private void Change(string dedupKey, string status, string logType, DateTimeOffset at)
    {
        lock (_gate)
        {
            var incident = OpenIncident(dedupKey) ?? throw new InvalidOperationException($"no open incident for dedup_key {dedupKey}");
            incident.Apply(status, logType, Seconds(at));
        }
    }

    private Incident? OpenIncident(string dedupKey) => _incidents.LastOrDefault(i => i.DedupKey == dedupKey && i.Status != "resolved");

    private ScriptedResponse Respond(RecordedRequest r)
    {
        lock (_gate)
        {
            if (r.Method == "POST" && r.Path == "/v2/enqueue") return Enqueue(r);
            if (r.Header("Authorization") != "Token token=" + ApiToken) return Reject(r, 401, 2006, "Authentication failed");
            if ((r.Header("Accept") ?? "").Replace(" ", "") != Accept) return Reject(r, 400, 2001, $"Accept must be {Accept}");
            var segments = r.Path.Trim('/').Split('/');
            return (r.Method, segments) switch
            {
                ("GET", ["incidents"]) => ListIncidents(r),
                ("GET", ["incidents", var id, "log_entries"]) => Find(id) is { } i ? LogEntries(r, i) : NotFound(r),
                ("GET", ["priorities"]) => Page(r, "priorities", Priorities.Select(p => (JsonNode)PriorityJson(p.Id, p.Name, full: true)).ToList()),
                ("PUT", ["incidents", var id]) => Find(id) is { } i ? Update(r, i) : NotFound(r),
                _ => NotFound(r),
            };
        }
    }

    private ScriptedResponse Enqueue(RecordedRequest r)
    {
        JsonObject? body;
        try { body = r.JsonBody() as JsonObject; } catch (System.Text.Json.JsonException) { body = null; }
        if (body is null) return Invalid(r, "Event object is not JSON");
        if ((string?)body["routing_key"] != RoutingKey) return Invalid(r, "Invalid routing key");
        var action = (string?)body["event_action"];
        var key = (string?)body["dedup_key"];
        var now = Seconds(_time.GetUtcNow());
        switch (action)
        {
            case "trigger":
                var payload = body["payload"] as JsonObject;
                if (payload?["summary"] is null || payload["source"] is null || payload["severity"] is null)
                    return Invalid(r, "payload.summary, payload.source and payload.severity are required");
                key = string.IsNullOrEmpty(key) ? Guid.NewGuid().ToString("N") : key;
                if (OpenIncident(key) is { } open) open.Triggers++;
                else _incidents.Add(new Incident($"PINC{_incidents.Count + 1:0000}", _incidents.Count + 1, key, now));
                break;
            case "acknowledge" or "resolve":
                if (string.IsNullOrEmpty(key)) return Invalid(r, "dedup_key is required");
                if (OpenIncident(key) is { } target && (action == "resolve" || target.Status == "triggered"))
                    target.Apply(action == "resolve" ? "resolved" : "acknowledged", action + "_log_entry", now);
                break;
            default:
                return Invalid(r, "event_action must be trigger, acknowledge or resolve");
        }
        return ScriptedResponse.Json(202, new JsonObject { ["status"] = "success", ["message"] = "Event processed", ["dedup_key"] = key }.ToJsonString());
    }

    private ScriptedResponse ListIncidents(RecordedRequest r)
    {
        IEnumerable<Incident> found = _incidents;
        if (r.Query.GetValueOrDefault("incident_key") is { } key) found = found.Where(i => i.DedupKey == key);
        if (r.Query.GetValueOrDefault("statuses[]") is { Length: > 0 } statuses) found = found.Where(i => statuses.Split(',').Contains(i.Status));
        if (r.Query.GetValueOrDefault("date_range") != "all") found = found.Where(i => i.CreatedAt >= _time.GetUtcNow().AddMonths(-1));
        found = r.Query.GetValueOrDefault("sort_by") == "created_at:desc" ? found.Reverse() : found;
        return Page(r, "incidents", found.Select(i => (JsonNode)i.Json(ApiUrl)).ToList());
    }

    private ScriptedResponse LogEntries(RecordedRequest r, Incident incident) =>
        Page(r, "log_entries", incident.Log.AsEnumerable().Reverse().Select((e, n) => (JsonNode)new JsonObject
        {
            ["id"] = $"{incident.Id}L{incident.Log.Count - n:000}",
            ["type"] = e.Type,
            ["created_at"] = Format(e.At),
            ["agent"] = new JsonObject { ["type"] = e.Type == "trigger_log_entry" ? "service_reference" : "user_reference" },
            ["incident"] = new JsonObject { ["id"] = incident.Id, ["type"] = "incident_reference" },
        }).ToList());

    private ScriptedResponse Update(RecordedRequest r, Incident incident)
    {
        if (r.Header("From") is not { } from) return Reject(r, 400, 2001, "You must specify a user's email address in the \"From\" header");
        if (from != UserEmail) return Reject(r, 400, 1008, "Requester User Not Found");
        if (r.Header("Content-Type") != "application/json") return Reject(r, 400, 2001, "Content-Type must be application/json");
        JsonObject? body;
        try { body = r.JsonBody()?["incident"] as JsonObject; } catch (System.Text.Json.JsonException) { body = null; }
        if (body is null || (string?)body["type"] is not ("incident" or "incident_reference"))
            return Reject(r, 400, 2001, "incident.type is required (incident or incident_reference)");
        if (body["priority"] is JsonObject priority)
        {
            var match = Priorities.FirstOrDefault(p => p.Id == (string?)priority["id"]);
            if (match.Id is null || (string?)priority["type"] != "priority_reference") return Reject(r, 400, 1020, "Invalid Priority");
            incident.Priority = match.Name;
        }
        return ScriptedResponse.Json(200, new JsonObject { ["incident"] = incident.Json(ApiUrl) }.ToJsonString());
    }

    private static ScriptedResponse Page(RecordedRequest r, string name, List<JsonNode> items)
    {
        var limit = int.TryParse(r.Query.GetValueOrDefault("limit"), out var l) && l > 0 ? Math.Min(l, 100) : DefaultLimit;
        var offset = int.TryParse(r.Query.GetValueOrDefault("offset"), out var o) && o >= 0 ? o : 0;
        var page = items.Skip(offset).Take(limit).ToArray();
        return ScriptedResponse.Json(200, new JsonObject
        {
            [name] = new JsonArray(page), ["limit"] = limit, ["offset"] = offset, ["more"] = offset + page.Length < items.Count, ["total"] = null,
        }.ToJsonString());
    }

    private Incident? Find(string id) => _incidents.FirstOrDefault(i => i.Id == id);

    private ScriptedResponse NotFound(RecordedRequest r) => Reject(r, 404, 2100, "Not Found");

    private ScriptedResponse Reject(RecordedRequest r, int status, int code, string message)
    {
        _rejections.Add((r, status, message));
        return ScriptedResponse.Json(status, new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["code"] = code } }.ToJsonString());
    }

    private ScriptedResponse Invalid(RecordedRequest r, string error)
    {
        _rejections.Add((r, 400, error));
        return ScriptedResponse.PagerDutyInvalid(error);
    }

    private static JsonObject PriorityJson(string id, string name, bool full)
    {
        var json = new JsonObject { ["id"] = id, ["type"] = full ? "priority" : "priority_reference", ["summary"] = name };
        if (full) json["name"] = name;
        return json;
    }

    private static DateTimeOffset Seconds(DateTimeOffset t) =>
        new(t.UtcTicks - t.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

    private static string Format(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private sealed class Incident(string id, int number, string dedupKey, DateTimeOffset createdAt)
    {
        public string Id { get; } = id;
        public string DedupKey { get; } = dedupKey;
        public string Status { get; private set; } = "triggered";
        public string? Priority { get; set; }
        public int Triggers { get; set; } = 1;
        public DateTimeOffset CreatedAt { get; } = createdAt;
        public List<FakeLogEntry> Log { get; } = [new("trigger_log_entry", createdAt)];

        public void Apply(string status, string logType, DateTimeOffset at)
        {
            Status = status;
            Log.Add(new FakeLogEntry(logType, at));
        }

        public FakeIncident Snapshot() => new(Id, number, DedupKey, Status, CreatedAt, Priority, Triggers, Log.ToList());

        /// <summary>As the REST API shows it; <c>acknowledgements</c> holds only the acknowledgements since the last (re)trigger and is empty unless acknowledged.</summary>
        public JsonObject Json(Uri api)
        {
            var since = Log.FindLastIndex(e => e.Type is "trigger_log_entry" or "unacknowledge_log_entry");
            var acks = Status == "acknowledged"
                ? Log.Skip(since + 1).Where(e => e.Type == "acknowledge_log_entry")
                    .Select(e => (JsonNode)new JsonObject { ["at"] = Format(e.At), ["acknowledger"] = new JsonObject { ["type"] = "user_reference" } })
                : [];
            return new JsonObject
            {
                ["id"] = Id,
                ["type"] = "incident",
                ["summary"] = $"[#{number}] {DedupKey}",
                ["self"] = new Uri(api, "incidents/" + Id).ToString(),
                ["html_url"] = $"https://example.pagerduty.com/incidents/{Id}",
                ["incident_number"] = number,
                ["created_at"] = Format(CreatedAt),
                ["status"] = Status,
                ["incident_key"] = DedupKey,
                ["priority"] = Priority is null ? null : PriorityJson(Priorities.First(p => p.Name == Priority).Id, Priority, full: false),
                ["acknowledgements"] = new JsonArray(acks.ToArray()),
                ["last_status_change_at"] = Format(Log[^1].At),
                ["urgency"] = "high",
            };
        }
    }
}
