using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Mail;
using System.Net.Mime;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Http;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.PagerDuty;

/// <summary>
/// <see cref="IPagerDutyIncidents"/> over the PagerDuty REST API v2, sent through the Refit-generated
/// <see cref="IPagerDutyRestApi"/> (build with <see cref="PagerDutyClients"/> or a constructor) (api-schema <c>reference/REST/openapiv3.json</c>,
/// developer-docs <c>docs/REST-API</c>). Every request carries <c>Authorization: Token token=&lt;ApiToken&gt;</c> and
/// <c>Accept: application/vnd.pagerduty+json;version=2</c>; the <c>PUT</c> also <c>Content-Type: application/json</c> and
/// <c>From: &lt;user email&gt;</c>.
/// <para>
/// Finding an incident: <c>GET /incidents?incident_key=…&amp;date_range=all&amp;statuses[]=triggered&amp;statuses[]=acknowledged&amp;statuses[]=resolved&amp;sort_by=created_at:desc</c>
/// (<c>date_range=all</c> lifts the default one-month window; the statuses are listed because the schema does not state a
/// default). When several incidents carry the key (a key is reused after its incident was resolved) the newest is taken.
/// </para>
/// <para>
/// <see cref="PagerDutyIncident.RespondedAt"/> — the incident itself cannot tell it: <c>acknowledgements[]</c> "will be
/// empty if the Incident.status is resolved or triggered", and after an acknowledgement timed out and the incident was
/// acknowledged again it holds only the latest one. So:
/// <list type="bullet">
/// <item><c>triggered</c> → null, from the one lookup call (nobody is responding now; an acknowledgement that lapsed back
/// to triggered does not count).</item>
/// <item><c>acknowledged</c> or <c>resolved</c> → one more call, <c>GET /incidents/{id}/log_entries</c> (all pages of
/// 100): the earliest <c>acknowledge_log_entry</c>'s <c>created_at</c>, else the earliest <c>resolve_log_entry</c>'s.
/// Only when the log has neither: the earliest <c>acknowledgements[].at</c>, else <c>resolved_at</c> /
/// <c>last_status_change_at</c>.</item>
/// </list>
/// </para>
/// <para>
/// Setting a priority: <c>GET /priorities</c> (listed most to least severe; read once per client instance and cached),
/// then <c>PUT /incidents/{id}</c> with
/// <c>{"incident":{"type":"incident_reference","priority":{"id":"…","type":"priority_reference"}}}</c>. Names match
/// exactly, else ignoring case; when names repeat the most severe wins (as PagerDuty does for a priority given by name).
/// </para>
/// <para>
/// Failures are <see cref="DeliveryException"/>s with target <c>pagerduty-api</c> (developer-docs <c>14-Errors.md</c>):
/// 408, 429, 5xx, timeouts and connection failures are transient, with <c>Retry-After</c> or else <c>ratelimit-reset</c>
/// (seconds, <c>04-Rate-Limits.md</c>) as the requested wait; 400, 401, 402, 403, 404 and every other status are
/// permanent, quoting PagerDuty's <c>error.message</c> and <c>error.errors[]</c>; so is an unknown priority name and a
/// success body that is not the documented JSON. No retries here. The API token never appears in messages.
/// </para>
/// </summary>
public sealed class PagerDutyRestClient : IPagerDutyIncidents
{
    /// <summary><see cref="DeliveryException.Target"/> of every failure.</summary>
    public const string Target = "pagerduty-api";

    /// <summary>The versioned media type every request accepts (api-schema <c>header_Accept</c>).</summary>
    public const string AcceptMediaType = "application/vnd.pagerduty+json;version=2";

    /// <summary>Page size of list calls (the REST API's maximum <c>limit</c>).</summary>
    public const int PageSize = 100;

    /// <summary>Most pages read from one list; a longer list is cut there (10,000 entries).</summary>
    public const int MaxPages = 100;

    /// <summary>Largest success body read (bytes); a larger one is a permanent failure.</summary>
    public const int MaxResponseBytes = 8 * 1024 * 1024;

    /// <summary>
    /// REST API v2 classification: the shared rules, quoting <c>error.message</c> and <c>error.errors[]</c>
    /// (<c>14-Errors.md</c>), a hint on 401, and <c>ratelimit-reset</c> (seconds, <c>04-Rate-Limits.md</c>) as the wait
    /// when a transient failure carries no <c>Retry-After</c>.
    /// </summary>
    internal static readonly HttpFailureRules Rules = HttpFailureRules.Default with
    {
        DescribeBody = body => HttpSupport.DescribeJsonError(body, root => root["error"] as JsonObject) ?? body,
        Hint = status => status == 401 ? " (PagerDuty:ApiToken was not accepted)" : "",
        RetryAfter = (response, time) => HttpSupport.RetryAfter(response, time) ?? RateLimitReset(response),
    };

    private readonly IPagerDutyRestApi _api;
    private readonly HttpDelivery _delivery;
    private readonly string _credentials;
    private readonly string _token;
    private readonly string _from;
    private readonly string _apiUrl;
    private readonly SemaphoreSlim _prioritiesGate = new(1, 1);
    private IReadOnlyList<(string Name, string Id)>? _priorities;

    /// <summary>Creates the client on the Refit-generated <see cref="IPagerDutyRestApi"/> over <paramref name="http"/>.</summary>
    /// <param name="http">Client to send with (it may be shared and need no base address); its <see cref="HttpClient.Timeout"/> bounds each call (headers and body).</param>
    /// <param name="options"><see cref="PagerDutyOptions.ApiToken"/>, <see cref="PagerDutyOptions.ApiUrl"/> and <see cref="PagerDutyOptions.From"/>.</param>
    /// <param name="timeProvider">Clock for an HTTP-date <c>Retry-After</c>; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">
    /// The API token is missing or contains whitespace/control characters; ApiUrl is not https (plain http only for
    /// loopback hosts), embeds credentials or has a query or fragment; From is missing or not a plain email address.
    /// Messages never contain the token.
    /// </exception>
    public PagerDutyRestClient(HttpClient http, PagerDutyOptions options, TimeProvider? timeProvider = null)
        : this(PagerDutyClients.Api<IPagerDutyRestApi>(http, Validate(options).ApiUrl), options, http.Timeout, timeProvider)
    {
    }

    /// <summary>Creates the client on an API client from <c>AddRefitGeneratedClient</c> (see <see cref="PagerDutyClients.AddPagerDuty"/>).</summary>
    /// <param name="api">The generated REST API client.</param>
    /// <param name="options">Token, API root and From user.</param>
    /// <param name="timeout">Per-call deadline (headers and body): the API client's <see cref="HttpClient.Timeout"/>.</param>
    /// <param name="timeProvider">Clock for an HTTP-date <c>Retry-After</c>; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">As for the other constructor.</exception>
    public PagerDutyRestClient(IPagerDutyRestApi api, PagerDutyOptions options, TimeSpan timeout, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(api);
        Validate(options);
        _api = api;
        _delivery = HttpDelivery.ForDeliveries(timeout, timeProvider, Rules, Target);
        _token = options.ApiToken!;
        _credentials = "token=" + _token;
        _from = options.From!;
        _apiUrl = options.ApiUrl.AbsoluteUri.TrimEnd('/');
    }

    private static PagerDutyOptions Validate(PagerDutyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.ApiToken))
            throw new ArgumentException("PagerDuty API token is not configured (PagerDuty:ApiToken)", nameof(options));
        if (options.ApiToken.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ArgumentException("PagerDuty API token contains whitespace or control characters", nameof(options));
        HttpSupport.RequireHttpsOrLoopback(options.ApiUrl, "PagerDuty ApiUrl", nameof(options));
        if (!string.IsNullOrEmpty(options.ApiUrl.UserInfo))
            throw new ArgumentException("PagerDuty ApiUrl must not embed credentials; use PagerDuty:ApiToken", nameof(options));
        if (!string.IsNullOrEmpty(options.ApiUrl.Query) || !string.IsNullOrEmpty(options.ApiUrl.Fragment))
            throw new ArgumentException("PagerDuty ApiUrl must not have a query string or fragment", nameof(options));
        if (string.IsNullOrWhiteSpace(options.From))
            throw new ArgumentException("PagerDuty:From (email of a PagerDuty user, sent as the From header) is required with PagerDuty:ApiToken", nameof(options));
        if (!IsPlainEmail(options.From))
            throw new ArgumentException($"PagerDuty:From must be a plain email address such as rollout-bot@example.com (got '{options.From}')", nameof(options));
        return options;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException"><paramref name="incidentKey"/> is empty. Thrown before anything is sent.</exception>
    /// <exception cref="DeliveryException">Classified as in the type's remarks; target <c>pagerduty-api</c>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<PagerDutyIncident?> FindByIncidentKeyAsync(string incidentKey, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(incidentKey)) throw new ArgumentException("incident key is required", nameof(incidentKey));
        var what = $"PagerDuty incident lookup for incident_key '{incidentKey}'";
        var url = $"{_apiUrl}/incidents?incident_key={Uri.EscapeDataString(incidentKey)}&date_range=all" +
                  "&statuses%5B%5D=triggered&statuses%5B%5D=acknowledged&statuses%5B%5D=resolved&sort_by=created_at:desc";
        var body = await SendAsync(url, null, what, cancellationToken).ConfigureAwait(false);
        if (body?["incidents"] is not JsonArray incidents) throw Unreadable(what, "no incidents array");

        Parsed? newest = null;
        foreach (var node in incidents)
        {
            var parsed = ParseIncident(node as JsonObject) ?? throw Unreadable(what, "an incident without id, status or created_at");
            if (newest is null || parsed.Incident.CreatedAt > newest.Incident.CreatedAt) newest = parsed;
        }
        if (newest is null) return null;
        if (newest.Incident.Status is not ("acknowledged" or "resolved")) return newest.Incident;

        var entries = await GetAllAsync($"/incidents/{Uri.EscapeDataString(newest.Incident.Id)}/log_entries", "log_entries",
            $"PagerDuty log entries of incident {newest.Incident.Id}", cancellationToken).ConfigureAwait(false);
        var responded = Earliest(entries, "acknowledge_log_entry", "created_at")
                        ?? Earliest(entries, "resolve_log_entry", "created_at")
                        ?? newest.Fallback;
        return newest.Incident with { RespondedAt = responded };
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">An empty incident id or priority name. Thrown before anything is sent.</exception>
    /// <exception cref="DeliveryException">
    /// Classified as in the type's remarks; target <c>pagerduty-api</c>. No priority of that name: permanent, status null,
    /// the message lists the names PagerDuty has.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task SetPriorityAsync(string incidentId, string priorityName, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(incidentId)) throw new ArgumentException("incident id is required", nameof(incidentId));
        if (string.IsNullOrWhiteSpace(priorityName)) throw new ArgumentException("priority name is required", nameof(priorityName));

        var priorities = await PrioritiesAsync(cancellationToken).ConfigureAwait(false);
        var match = priorities.FirstOrDefault(p => string.Equals(p.Name, priorityName, StringComparison.Ordinal));
        if (match.Id is null) match = priorities.FirstOrDefault(p => string.Equals(p.Name, priorityName, StringComparison.OrdinalIgnoreCase));
        if (match.Id is null)
        {
            var available = priorities.Count == 0
                ? "the account has none (priorities may be turned off or not in its plan)"
                : "available: " + string.Join(", ", priorities.Select(p => p.Name));
            throw new DeliveryException(Target, null, isTransient: false, $"PagerDuty has no priority named '{priorityName}' ({available})");
        }

        var body = new JsonObject
        {
            ["incident"] = new JsonObject
            {
                ["type"] = "incident_reference",
                ["priority"] = new JsonObject { ["id"] = match.Id, ["type"] = "priority_reference" },
            },
        };
        await SendAsync($"{_apiUrl}/incidents/{Uri.EscapeDataString(incidentId)}", body.ToJsonString(),
            $"PagerDuty priority change of incident {incidentId} to {match.Name}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Names the API root only; never the token.</summary>
    public override string ToString() => $"PagerDutyRestClient {_apiUrl}";

    /// <summary>The incident parsed from the lookup, and the response time its own fields suggest (used only when the log has none).</summary>
    private sealed record Parsed(PagerDutyIncident Incident, DateTimeOffset? Fallback);

    private async Task<IReadOnlyList<(string Name, string Id)>> PrioritiesAsync(CancellationToken cancellationToken)
    {
        if (_priorities is { } cached) return cached;
        await _prioritiesGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_priorities is { } again) return again;
            const string what = "PagerDuty priority list";
            var list = new List<(string, string)>();
            foreach (var p in await GetAllAsync("/priorities", "priorities", what, cancellationToken).ConfigureAwait(false))
            {
                if (Str(p, "id") is not { Length: > 0 } id || Str(p, "name") is not { Length: > 0 } name)
                    throw Unreadable(what, "a priority without id or name");
                list.Add((name, id));
            }
            return _priorities = list;
        }
        finally
        {
            _prioritiesGate.Release();
        }
    }

    /// <summary>Every item of a paged list (<c>limit</c>/<c>offset</c>/<c>more</c>, developer-docs <c>09-Pagination.md</c>), at most <see cref="MaxPages"/> pages.</summary>
    private async Task<List<JsonObject>> GetAllAsync(string path, string arrayName, string what, CancellationToken cancellationToken)
    {
        var items = new List<JsonObject>();
        for (var page = 0; page < MaxPages; page++)
        {
            var body = await SendAsync($"{_apiUrl}{path}?limit={PageSize}&offset={items.Count}", null, what, cancellationToken)
                .ConfigureAwait(false);
            if (body?[arrayName] is not JsonArray array) throw Unreadable(what, $"no {arrayName} array");
            var before = items.Count;
            items.AddRange(array.OfType<JsonObject>());
            var more = body["more"] is JsonValue m && m.TryGetValue<bool>(out var b) && b;
            if (!more || items.Count == before) break;
        }
        return items;
    }

    /// <summary><c>GET</c> <paramref name="url"/>, or <c>PUT</c> <paramref name="jsonBody"/> to it; the parsed 2xx body (null when empty).</summary>
    private async Task<JsonNode?> SendAsync(string url, string? jsonBody, string what, CancellationToken cancellationToken)
    {
        var uri = new Uri(url);
        var call = new HttpCall(what, [_token]);
        using var exchange = await _delivery.SendAsync(deadline =>
        {
            if (jsonBody is null) return _api.GetAsync(uri, _credentials, deadline);
            var content = new StringContent(jsonBody, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypeNames.Application.Json); // exactly application/json (api-schema enum)
            return _api.PutIncidentAsync(uri, _credentials, _from, content, deadline);
        }, call, cancellationToken).ConfigureAwait(false);

        var status = exchange.Status;
        var bytes = await _delivery.ReadSuccessBodyAsync(exchange, call, MaxResponseBytes).ConfigureAwait(false)
                    ?? throw new DeliveryException(Target, status, isTransient: false, $"{what} failed: the response is larger than {MaxResponseBytes} bytes");
        if (bytes.Length == 0) return null;
        try
        {
            return JsonNode.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw new DeliveryException(Target, status, isTransient: false, $"{what} failed: HTTP {status} with a body that is not JSON", inner: ex);
        }
    }

    /// <summary><c>ratelimit-reset</c>: seconds until the rate-limit window resets (developer-docs <c>04-Rate-Limits.md</c>).</summary>
    private static TimeSpan? RateLimitReset(HttpResponseMessage response) =>
        response.Headers.TryGetValues("ratelimit-reset", out var values) &&
        double.TryParse(values.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) &&
        seconds >= 0 && seconds < TimeSpan.MaxValue.TotalSeconds
            ? TimeSpan.FromSeconds(seconds)
            : null;

    private static Parsed? ParseIncident(JsonObject? o)
    {
        if (o is null || Str(o, "id") is not { Length: > 0 } id || Str(o, "status") is not { Length: > 0 } status ||
            Time(o, "created_at") is not { } createdAt)
            return null;
        int? number = o["incident_number"] is JsonValue n && n.TryGetValue<int>(out var i) ? i : null;
        // The incident carries a priority reference (api-schema example: {"summary":"P2",…}); a full priority has "name".
        var priority = o["priority"] is JsonObject p ? Str(p, "name") ?? Str(p, "summary") : null;
        var acknowledged = o["acknowledgements"] is JsonArray acks
            ? acks.OfType<JsonObject>().Select(a => Time(a, "at")).Where(t => t is not null).Min()
            : null;
        var fallback = status == "acknowledged" ? acknowledged : Time(o, "resolved_at") ?? Time(o, "last_status_change_at");
        return new Parsed(new PagerDutyIncident(id, number, status, createdAt, null, priority, Str(o, "html_url")), fallback);
    }

    private static DateTimeOffset? Earliest(IEnumerable<JsonObject> entries, string type, string field) =>
        entries.Where(e => Str(e, "type") == type).Select(e => Time(e, field)).Where(t => t is not null).Min();

    private static string? Str(JsonObject o, string name) => o[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static DateTimeOffset? Time(JsonObject o, string name) =>
        Str(o, name) is { } s && DateTimeOffset.TryParse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
            ? t.ToUniversalTime()
            : null;

    private static DeliveryException Unreadable(string what, string problem) =>
        new(Target, null, isTransient: false, $"{what} failed: unexpected response ({problem})");

    private static bool IsPlainEmail(string value) =>
        !value.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)) &&
        MailAddress.TryCreate(value, out var address) && address.Address == value && address.DisplayName.Length == 0;
}
