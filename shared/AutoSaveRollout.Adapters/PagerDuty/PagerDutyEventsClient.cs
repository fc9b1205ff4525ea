using System.Globalization;
using System.Net.Mime;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Http;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.PagerDuty;

/// <summary>
/// <see cref="IPagerDutyEvents"/> over PagerDuty Events API v2 (<c>POST /v2/enqueue</c>, JSON), sent through the
/// Refit-generated <see cref="IPagerDutyEventsApi"/> (build with <see cref="PagerDutyClients"/> or a constructor).
/// <para>
/// Body (developer-docs <c>events-API-v2/02-Trigger-Events.md</c>): <c>routing_key</c>, <c>event_action</c>,
/// <c>dedup_key</c> and, for <c>trigger</c> only, <c>payload</c> { summary (truncated to 1024 characters), source,
/// severity, timestamp (ISO 8601 UTC, millisecond precision), component, group, class, custom_details }; null fields are
/// omitted. <c>acknowledge</c>/<c>resolve</c> carry only routing_key, dedup_key and event_action. A trigger with an
/// empty dedup key omits it and PagerDuty assigns one.
/// </para>
/// <para>
/// Outcome (<c>01-Overview.md</c>, events-v2 OpenAPI): 202 (any 2xx) → the <c>dedup_key</c> from the response;
/// 400 → permanent, quoting PagerDuty's <c>message</c> and <c>errors[]</c>; 429 → transient (+<c>Retry-After</c> if
/// sent); 5xx, 408, timeouts, connection failures → transient; other statuses → permanent. No retries here.
/// The routing key never appears in exception messages.
/// </para>
/// </summary>
public sealed class PagerDutyEventsClient : IPagerDutyEvents
{
    /// <summary>Longest <c>payload.summary</c> PagerDuty accepts; longer summaries are truncated.</summary>
    public const int MaxSummaryLength = 1024;

    /// <summary>Longest <c>dedup_key</c> PagerDuty accepts.</summary>
    public const int MaxDedupKeyLength = 255;

    /// <summary>Valid <c>payload.severity</c> values.</summary>
    public static readonly IReadOnlySet<string> Severities = new HashSet<string>(StringComparer.Ordinal) { "critical", "error", "warning", "info" };

    /// <summary>Valid <c>event_action</c> values.</summary>
    public static readonly IReadOnlySet<string> EventActions = new HashSet<string>(StringComparer.Ordinal) { "trigger", "acknowledge", "resolve" };

    private const string Target = "pagerduty";
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// Events API v2 classification: the shared rules, quoting PagerDuty's <c>message</c> and <c>errors[]</c>
    /// (<c>{"status":"invalid event","message":"Event object is invalid","errors":["…"]}</c>) instead of the raw JSON.
    /// </summary>
    internal static readonly HttpFailureRules Rules = HttpFailureRules.Default with
    {
        DescribeBody = body => HttpSupport.DescribeJsonError(body, root => root) ?? body,
    };

    private readonly IPagerDutyEventsApi _api;
    private readonly HttpDelivery _delivery;
    private readonly string _routingKey;
    private readonly Uri _eventsUrl;

    /// <summary>Creates the client on the Refit-generated <see cref="IPagerDutyEventsApi"/> over <paramref name="http"/>.</summary>
    /// <param name="http">Client to send with (it may be shared and need no base address); its <see cref="HttpClient.Timeout"/> bounds each call (headers and body).</param>
    /// <param name="options">Routing key and endpoint.</param>
    /// <param name="timeProvider">Clock for an HTTP-date <c>Retry-After</c>; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">
    /// The routing key is missing or contains whitespace/control characters, or <see cref="PagerDutyOptions.EventsUrl"/>
    /// is not https (plain http only for loopback hosts). Messages never contain the key.
    /// </exception>
    public PagerDutyEventsClient(HttpClient http, PagerDutyOptions options, TimeProvider? timeProvider = null)
        : this(PagerDutyClients.Api<IPagerDutyEventsApi>(http, Validate(options).EventsUrl), options, http.Timeout, timeProvider)
    {
    }

    /// <summary>Creates the client on an API client from <c>AddRefitGeneratedClient</c> (see <see cref="PagerDutyClients.AddPagerDuty"/>).</summary>
    /// <param name="api">The generated Events API client.</param>
    /// <param name="options">Routing key and endpoint.</param>
    /// <param name="timeout">Per-call deadline (headers and body): the API client's <see cref="HttpClient.Timeout"/>.</param>
    /// <param name="timeProvider">Clock for an HTTP-date <c>Retry-After</c>; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">As for the other constructor.</exception>
    public PagerDutyEventsClient(IPagerDutyEventsApi api, PagerDutyOptions options, TimeSpan timeout, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(api);
        Validate(options);
        _api = api;
        _delivery = HttpDelivery.ForDeliveries(timeout, timeProvider, Rules, Target);
        _routingKey = options.RoutingKey!;
        _eventsUrl = options.EventsUrl;
    }

    private static PagerDutyOptions Validate(PagerDutyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrWhiteSpace(options.RoutingKey))
            throw new ArgumentException("PagerDuty routing key is not configured (PagerDuty:RoutingKey)", nameof(options));
        if (options.RoutingKey.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ArgumentException("PagerDuty routing key contains whitespace or control characters", nameof(options));
        HttpSupport.RequireHttpsOrLoopback(options.EventsUrl, "PagerDuty EventsUrl", nameof(options));
        if (!string.IsNullOrEmpty(options.EventsUrl.UserInfo))
            throw new ArgumentException("PagerDuty EventsUrl must not embed credentials", nameof(options));
        return options;
    }

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// Unknown event_action; dedup_key longer than 255 characters or empty for acknowledge/resolve; for trigger, missing
    /// summary or source, or severity not one of critical/error/warning/info. Thrown before anything is sent.
    /// </exception>
    /// <exception cref="DeliveryException">Delivery failed, classified as in the type's remarks; <see cref="DeliveryException.Target"/> is <c>pagerduty</c>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<string> SendAsync(PagerDutyEvent pagerDutyEvent, CancellationToken cancellationToken = default)
    {
        var body = BuildBody(pagerDutyEvent, _routingKey).ToJsonString(Json);
        var call = new HttpCall($"PagerDuty {pagerDutyEvent.EventAction} event", [_routingKey])
        {
            Rejected = $"PagerDuty rejected the {pagerDutyEvent.EventAction} event",
        };
        using var exchange = await _delivery.SendAsync(
            deadline => _api.EnqueueAsync(_eventsUrl, new StringContent(body, Encoding.UTF8, MediaTypeNames.Application.Json), deadline),
            call, cancellationToken).ConfigureAwait(false);

        // The event was accepted: never throw a transient error here (a retry would send it twice).
        var responseBody = await exchange.ReadBodyAsync().ConfigureAwait(false);
        if (TryReadDedupKey(responseBody) is { } acknowledged) return acknowledged;
        if (!string.IsNullOrEmpty(pagerDutyEvent.DedupKey)) return pagerDutyEvent.DedupKey;
        throw new DeliveryException(Target, exchange.Status, isTransient: false,
            $"PagerDuty accepted the {pagerDutyEvent.EventAction} event (HTTP {exchange.Status}) but its response carried no dedup_key");
    }

    /// <summary>
    /// Validates <paramref name="e"/> and builds the Events API v2 body. Internal for tests.
    /// </summary>
    /// <exception cref="ArgumentException">See <see cref="SendAsync"/>.</exception>
    internal static JsonObject BuildBody(PagerDutyEvent e, string routingKey)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.EventAction is null || !EventActions.Contains(e.EventAction))
            throw new ArgumentException($"event_action must be trigger, acknowledge or resolve (got '{e.EventAction}')", nameof(e));
        var dedupKey = e.DedupKey ?? string.Empty;
        if (dedupKey.Length > MaxDedupKeyLength)
            throw new ArgumentException($"dedup_key is {dedupKey.Length} characters; PagerDuty allows at most {MaxDedupKeyLength}", nameof(e));

        var body = new JsonObject
        {
            ["routing_key"] = routingKey,
            ["event_action"] = e.EventAction,
        };

        if (e.EventAction != "trigger")
        {
            if (dedupKey.Length == 0)
                throw new ArgumentException($"dedup_key is required for {e.EventAction} events", nameof(e));
            body["dedup_key"] = dedupKey;
            return body;
        }

        if (string.IsNullOrWhiteSpace(e.Summary))
            throw new ArgumentException("payload.summary is required for trigger events", nameof(e));
        if (string.IsNullOrWhiteSpace(e.Source))
            throw new ArgumentException("payload.source is required for trigger events", nameof(e));
        if (e.Severity is null || !Severities.Contains(e.Severity))
            throw new ArgumentException($"payload.severity must be critical, error, warning or info (got '{e.Severity}')", nameof(e));

        if (dedupKey.Length > 0) body["dedup_key"] = dedupKey;
        var payload = new JsonObject
        {
            ["summary"] = HttpSupport.Truncate(e.Summary, MaxSummaryLength),
            ["source"] = e.Source,
            ["severity"] = e.Severity,
        };
        if (e.Timestamp is { } ts)
            payload["timestamp"] = ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
        if (e.Component is not null) payload["component"] = e.Component;
        if (e.Group is not null) payload["group"] = e.Group;
        if (e.Class is not null) payload["class"] = e.Class;
        if (e.CustomDetails is not null) payload["custom_details"] = e.CustomDetails.DeepClone();
        body["payload"] = payload;
        return body;
    }

    private static string? TryReadDedupKey(string body)
    {
        try
        {
            return JsonNode.Parse(body) is JsonObject o && o["dedup_key"] is JsonValue v && v.TryGetValue<string>(out var key) && key.Length > 0
                ? key
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Names the endpoint only; never the routing key.</summary>
    public override string ToString() => $"PagerDutyEventsClient {_eventsUrl}";
}
