namespace AutoSaveRollout.Adapters.PagerDuty;

/// <summary>
/// PagerDuty configuration (configuration section <c>PagerDuty</c>, e.g. env <c>PagerDuty__RoutingKey</c>): the Events API
/// v2 routing key and endpoint, and optionally the REST API v2 token, endpoint, <c>From</c> user and escalation priority.
/// The routing key and the API token are credentials: they never appear in messages or <see cref="ToString"/>.
/// </summary>
public sealed record PagerDutyOptions
{
    /// <summary>Configuration section name: <c>PagerDuty</c>.</summary>
    public const string SectionName = "PagerDuty";

    /// <summary>Default Events API v2 endpoint (PagerDuty developer docs, events-API-v2).</summary>
    public static readonly Uri DefaultEventsUrl = new("https://events.pagerduty.com/v2/enqueue");

    /// <summary>Default REST API v2 root (PagerDuty api-schema <c>servers</c>).</summary>
    public static readonly Uri DefaultApiUrl = new("https://api.pagerduty.com");

    /// <summary>Default priority set on an incident nobody acknowledged in time.</summary>
    public const string DefaultEscalationPriority = "P1";

    /// <summary>Integration (routing) key of the service — 32 characters for real PagerDuty integrations. Required by the Events client.</summary>
    public string? RoutingKey { get; set; }

    /// <summary>Events endpoint; default <c>https://events.pagerduty.com/v2/enqueue</c>. Must be https unless loopback.</summary>
    public Uri EventsUrl { get; set; } = DefaultEventsUrl;

    /// <summary>
    /// REST API v2 key, sent as <c>Authorization: Token token=&lt;key&gt;</c> (developer-docs REST-API
    /// <c>02-Authentication.md</c>). Required by the REST client; a secret.
    /// </summary>
    public string? ApiToken { get; set; }

    /// <summary>REST API v2 root; default <c>https://api.pagerduty.com</c>. Must be https unless loopback.</summary>
    public Uri ApiUrl { get; set; } = DefaultApiUrl;

    /// <summary>
    /// Email of a valid PagerDuty user, sent as the <c>From</c> header that <c>PUT /incidents/{id}</c> requires
    /// (api-schema <c>from_header</c>). Required when <see cref="ApiToken"/> is set.
    /// </summary>
    public string? From { get; set; }

    /// <summary>Name of the priority an unacknowledged incident is raised to; default <c>P1</c>.</summary>
    public string EscalationPriority { get; set; } = DefaultEscalationPriority;

    /// <summary>Prints the endpoints, the From user and whether the credentials are set; never the credentials.</summary>
    public override string ToString() =>
        $"PagerDutyOptions {{ EventsUrl = {EventsUrl}, RoutingKey = {Redacted(RoutingKey)}, ApiUrl = {ApiUrl}, ApiToken = {Redacted(ApiToken)}, " +
        $"From = {From ?? "(not set)"}, EscalationPriority = {EscalationPriority} }}";

    private static string Redacted(string? secret) => string.IsNullOrEmpty(secret) ? "(not set)" : "(redacted)";
}
