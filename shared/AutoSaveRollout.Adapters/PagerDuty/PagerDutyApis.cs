using Refit;

namespace AutoSaveRollout.Adapters.PagerDuty;

/// <summary>
/// PagerDuty Events API v2 as a Refit interface (implementation generated at build time by Refit's source generator):
/// <c>POST {EventsUrl}</c> with a JSON body and <c>Accept: application/json</c> (developer-docs
/// <c>events-API-v2/01-Overview.md</c>, <c>02-Trigger-Events.md</c>). The routing key travels inside the body.
/// <para>
/// Returns the raw response, read from its headers on (<see cref="HttpCompletionOption.ResponseHeadersRead"/>), and never
/// throws for a status code: <see cref="PagerDutyEventsClient"/> classifies it. Transport failures surface as the
/// <see cref="HttpClient"/> throws them (<see cref="HttpRequestException"/>, <see cref="OperationCanceledException"/>).
/// </para>
/// </summary>
public interface IPagerDutyEventsApi
{
    /// <summary>Sends one event to <paramref name="eventsUrl"/> (absolute; default <c>https://events.pagerduty.com/v2/enqueue</c>).</summary>
    /// <param name="eventsUrl">The Events API v2 enqueue endpoint.</param>
    /// <param name="body">The JSON event, sent exactly as given (content headers included).</param>
    /// <param name="cancellationToken">Cancels the call (the caller's token linked with the per-call deadline).</param>
    [Post("")]
    [Headers("Accept: application/json")]
    Task<HttpResponseMessage> EnqueueAsync([Url] Uri eventsUrl, [Body] HttpContent body, CancellationToken cancellationToken);
}

/// <summary>
/// The parts of PagerDuty REST API v2 the rollout uses, as a Refit interface (implementation generated at build time):
/// every call carries <c>Authorization: Token token=&lt;key&gt;</c> and
/// <c>Accept: application/vnd.pagerduty+json;version=2</c> (developer-docs <c>REST-API/02-Authentication.md</c>,
/// <c>01-Overview.md</c>); <c>PUT /incidents/{id}</c> also <c>From: &lt;user email&gt;</c> (api-schema <c>from_header</c>).
/// <para>
/// URLs are absolute and built by <see cref="PagerDutyRestClient"/> (paths, pagination and the exact query text of the
/// incident lookup). Responses are returned raw and never throw for a status code; the client classifies them.
/// </para>
/// </summary>
public interface IPagerDutyRestApi
{
    /// <summary><c>GET</c> a list or resource: <c>/incidents?…</c>, <c>/incidents/{id}/log_entries?…</c>, <c>/priorities?…</c>.</summary>
    /// <param name="url">Absolute URL under <see cref="PagerDutyOptions.ApiUrl"/>.</param>
    /// <param name="credentials"><c>token=&lt;API key&gt;</c>, sent after the <c>Token</c> scheme.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    [Get("")]
    [Headers("Accept: " + PagerDutyRestClient.AcceptMediaType)]
    Task<HttpResponseMessage> GetAsync([Url] Uri url, [Authorize("Token")] string credentials, CancellationToken cancellationToken);

    /// <summary><c>PUT /incidents/{id}</c> (priority change).</summary>
    /// <param name="url">Absolute URL of the incident.</param>
    /// <param name="credentials"><c>token=&lt;API key&gt;</c>, sent after the <c>Token</c> scheme.</param>
    /// <param name="from">Email of a valid PagerDuty user (the <c>From</c> header).</param>
    /// <param name="body">The JSON body, sent exactly as given (<c>Content-Type: application/json</c>).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    [Put("")]
    [Headers("Accept: " + PagerDutyRestClient.AcceptMediaType)]
    Task<HttpResponseMessage> PutIncidentAsync([Url] Uri url, [Authorize("Token")] string credentials, [Header("From")] string from,
        [Body] HttpContent body, CancellationToken cancellationToken);
}
