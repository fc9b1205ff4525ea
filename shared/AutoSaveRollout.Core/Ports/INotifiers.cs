using System.Text.Json.Nodes;

namespace AutoSaveRollout.Core.Ports;

/// <summary>An outward delivery (Slack, PagerDuty, flag service) failed. Messages never contain webhook URLs, keys or tokens.</summary>
public sealed class DeliveryException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="target">What was called, without secrets, e.g. <c>slack #incident-autosave</c>, <c>pagerduty</c>, <c>flag-service</c>.</param>
    /// <param name="statusCode">HTTP status, or null when there was no response (timeout, connection refused).</param>
    /// <param name="isTransient">True for 5xx, 408, 429, timeouts and socket errors; false for other 4xx and configuration errors.</param>
    /// <param name="message">Reason, free of secrets.</param>
    /// <param name="retryAfter">Server-requested wait (HTTP <c>Retry-After</c>), when given.</param>
    /// <param name="inner">Underlying exception.</param>
    public DeliveryException(string target, int? statusCode, bool isTransient, string message, TimeSpan? retryAfter = null, Exception? inner = null)
        : base(message, inner)
    {
        Target = target;
        StatusCode = statusCode;
        IsTransient = isTransient;
        RetryAfter = retryAfter;
    }

    /// <summary>What was called, without secrets.</summary>
    public string Target { get; }

    /// <summary>HTTP status, or null when no response arrived.</summary>
    public int? StatusCode { get; }

    /// <summary>True when retrying may succeed.</summary>
    public bool IsTransient { get; }

    /// <summary>HTTP <c>Retry-After</c> when the server sent one (Slack and PagerDuty send it with 429).</summary>
    public TimeSpan? RetryAfter { get; }
}

/// <summary>Posts a message to a Slack channel through that channel's incoming webhook.</summary>
public interface ISlackNotifier
{
    /// <summary>
    /// Posts <paramref name="text"/> (already mrkdwn-escaped by the caller) to <paramref name="channel"/>
    /// (e.g. <c>#incident-autosave</c>). Success is HTTP 200 with body <c>ok</c> (Slack incoming webhooks).
    /// Throws <see cref="DeliveryException"/> on failure or when no webhook is configured for the channel.
    /// </summary>
    Task PostAsync(string channel, string text, CancellationToken cancellationToken = default);
}

/// <summary>
/// A PagerDuty Events API v2 event, without the routing key (the adapter adds it from configuration).
/// Field rules from PagerDuty developer docs, events-API-v2: <c>summary</c> ≤ 1024 characters, <c>dedup_key</c> ≤ 255,
/// <c>severity</c> one of critical / error / warning / info.
/// </summary>
/// <param name="EventAction"><c>trigger</c>, <c>acknowledge</c> or <c>resolve</c>.</param>
/// <param name="DedupKey">Deduplication key (≤ 255 characters).</param>
/// <param name="Summary">payload.summary (trigger only).</param>
/// <param name="Source">payload.source (trigger only).</param>
/// <param name="Severity">payload.severity (trigger only).</param>
/// <param name="Timestamp">payload.timestamp (ISO 8601), optional.</param>
/// <param name="Component">payload.component, optional.</param>
/// <param name="Group">payload.group, optional.</param>
/// <param name="Class">payload.class, optional.</param>
/// <param name="CustomDetails">payload.custom_details, optional.</param>
public sealed record PagerDutyEvent(
    string EventAction,
    string DedupKey,
    string? Summary = null,
    string? Source = null,
    string? Severity = null,
    DateTimeOffset? Timestamp = null,
    string? Component = null,
    string? Group = null,
    string? Class = null,
    JsonObject? CustomDetails = null);

/// <summary>Sends events to PagerDuty Events API v2 (<c>POST /v2/enqueue</c>; success is 202).</summary>
public interface IPagerDutyEvents
{
    /// <summary>Sends <paramref name="pagerDutyEvent"/>; returns the dedup key PagerDuty acknowledged. Throws <see cref="DeliveryException"/>.</summary>
    Task<string> SendAsync(PagerDutyEvent pagerDutyEvent, CancellationToken cancellationToken = default);
}

/// <summary>Body of a rollback call to the flag service.</summary>
/// <param name="Flag">Feature flag name, e.g. <c>autosave</c>.</param>
/// <param name="FromPhase">Phase in effect: A, B or C.</param>
/// <param name="ToPhase">One phase back: B, A or <c>off</c>.</param>
/// <param name="Reason">Why, e.g. <c>p95_s violation</c>.</param>
/// <param name="DecisionId">The decision that requires the rollback; also the <c>Idempotency-Key</c>.</param>
public sealed record FlagRollbackRequest(string Flag, string FromPhase, string ToPhase, string Reason, string DecisionId);

/// <summary>Body of a phase move (promotion) call to the flag service.</summary>
/// <param name="Flag">Feature flag name, e.g. <c>autosave</c>.</param>
/// <param name="FromPhase">Phase in effect: A, B or C.</param>
/// <param name="ToPhase">One phase forward: B, C, or <c>complete</c> (C signed off; exposure stays 100%).</param>
/// <param name="Reason">Why, e.g. <c>promotion approved by sre,dev_lead</c>.</param>
/// <param name="MoveId">Deterministic id of the move; also the <c>Idempotency-Key</c>.</param>
public sealed record FlagPhaseRequest(string Flag, string FromPhase, string ToPhase, string Reason, string MoveId);

/// <summary>
/// The flag service: <c>POST {base}/flags/{flag}/rollback</c> (one phase back) and <c>POST {base}/flags/{flag}/phase</c>
/// (one phase forward), Bearer token, <c>Idempotency-Key</c>.
/// </summary>
public interface IRollbackFlagService
{
    /// <summary>Requests the rollback; any 2xx is success. Throws <see cref="DeliveryException"/>.</summary>
    Task RollbackAsync(FlagRollbackRequest request, CancellationToken cancellationToken = default);

    /// <summary>Requests a phase move (promotion); any 2xx is success. Throws <see cref="DeliveryException"/>.</summary>
    Task SetPhaseAsync(FlagPhaseRequest request, CancellationToken cancellationToken = default);
}

/// <summary>
/// A PagerDuty incident as the REST API v2 reports it (<c>GET /incidents?incident_key=…</c>; PagerDuty api-schema
/// <c>Incident</c>).
/// </summary>
/// <param name="Id">PagerDuty incident id, e.g. <c>PT4KHLK</c>.</param>
/// <param name="IncidentNumber">The account-wide incident number (the <c>#1234</c> people quote).</param>
/// <param name="Status"><c>triggered</c>, <c>acknowledged</c> or <c>resolved</c>.</param>
/// <param name="CreatedAt">When PagerDuty opened the incident (UTC).</param>
/// <param name="RespondedAt">
/// First human response (UTC): the earliest acknowledgement, or the resolution when it was resolved without one; null
/// while nobody has responded.
/// </param>
/// <param name="Priority">Priority name (e.g. <c>P1</c>), null when none is set.</param>
/// <param name="HtmlUrl">Link to the incident in the PagerDuty web app.</param>
public sealed record PagerDutyIncident(string Id, int? IncidentNumber, string Status, DateTimeOffset CreatedAt, DateTimeOffset? RespondedAt,
    string? Priority, string? HtmlUrl);

/// <summary>
/// PagerDuty REST API v2 (<c>https://api.pagerduty.com</c>, <c>Authorization: Token token=…</c>): finds the incident an
/// Events v2 trigger opened and raises its priority when nobody acknowledged it in time.
/// </summary>
public interface IPagerDutyIncidents
{
    /// <summary>
    /// The incident opened under <paramref name="incidentKey"/> (the Events v2 <c>dedup_key</c>), any status, any age; null
    /// when PagerDuty has none. Throws <see cref="DeliveryException"/> (target <c>pagerduty-api</c>).
    /// </summary>
    Task<PagerDutyIncident?> FindByIncidentKeyAsync(string incidentKey, CancellationToken cancellationToken = default);

    /// <summary>
    /// Sets the priority of incident <paramref name="incidentId"/> to the priority named <paramref name="priorityName"/>
    /// (e.g. <c>P1</c>), with the configured <c>From</c> user. Throws <see cref="DeliveryException"/> (target
    /// <c>pagerduty-api</c>); an unknown priority name is a permanent failure.
    /// </summary>
    Task SetPriorityAsync(string incidentId, string priorityName, CancellationToken cancellationToken = default);
}
