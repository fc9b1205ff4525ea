using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.Http;

/// <summary>
/// One outward HTTP call as the failure messages name it, with the secrets its error bodies must not echo.
/// </summary>
/// <param name="What">
/// What was attempted, without secrets, e.g. <c>Slack post to #ops</c>. Transport failures read
/// <c>{What} failed: {reason}</c>; error statuses read <c>{Rejected}: HTTP {status}{hint} {quoted body}</c>.
/// </param>
/// <param name="Secrets">Strings removed from a quoted error body (tokens, keys, webhook URL parts); nulls are ignored.</param>
/// <param name="Target">The <c>DeliveryException.Target</c> of an adapter whose target varies per call (Slack's channel).</param>
internal sealed record HttpCall(string What, IReadOnlyList<string?> Secrets, string? Target = null)
{
    /// <summary>Prefix of an error-status message; default <c>{What} failed</c>.</summary>
    public string Rejected { get; init; } = What + " failed";
}

/// <summary>
/// An HTTP call that did not succeed, classified; the adapter turns it into its own exception type
/// (<c>DeliveryException</c>, <c>TelemetrySourceException</c>).
/// </summary>
/// <param name="Call">The call that failed.</param>
/// <param name="StatusCode">HTTP status, or null when no response arrived (timeout, connection failure).</param>
/// <param name="IsTransient">True when the same request may succeed later.</param>
/// <param name="Message">The reason, free of secrets.</param>
/// <param name="RetryAfter">The server's requested wait, for transient statuses only.</param>
/// <param name="Inner">The transport exception, for failures without a response.</param>
internal sealed record HttpFailure(HttpCall Call, int? StatusCode, bool IsTransient, string Message, TimeSpan? RetryAfter, Exception? Inner);

/// <summary>
/// How one service's error responses are classified and described. <see cref="Default"/> is the rule every adapter
/// shares: 408, 429 and 5xx are transient (RFC 9110 §15.5.9, §15.6; Slack and PagerDuty rate limits), every other
/// non-2xx status is permanent, the wait is <c>Retry-After</c> (RFC 9110 §10.2.3) and the body is quoted as sent.
/// A service that differs overrides only what differs (the flag service's 409, PagerDuty's JSON error bodies and
/// <c>ratelimit-reset</c>).
/// </summary>
internal sealed record HttpFailureRules
{
    /// <summary>The shared rules.</summary>
    public static HttpFailureRules Default { get; } = new();

    /// <summary>True for a status where the same request may succeed later; default <see cref="HttpSupport.IsTransientStatus"/>.</summary>
    public Func<int, bool> IsTransient { get; init; } = HttpSupport.IsTransientStatus;

    /// <summary>Text put right after <c>HTTP {status}</c>, e.g. <c> (PagerDuty:ApiToken was not accepted)</c>; default none.</summary>
    public Func<int, string> Hint { get; init; } = static _ => "";

    /// <summary>The part of an error body worth quoting (before redaction and truncation); default the whole body.</summary>
    public Func<string, string> DescribeBody { get; init; } = static body => body;

    /// <summary>The requested wait of a transient failure; default <see cref="HttpSupport.RetryAfter"/>.</summary>
    public Func<HttpResponseMessage, TimeProvider, TimeSpan?> RetryAfter { get; init; } = HttpSupport.RetryAfter;
}

/// <summary>
/// The one send-and-classify path of the outward HTTP adapters (Slack, PagerDuty Events v2 and REST v2, flag service,
/// HTTP telemetry): sends under a per-call deadline (the client's timeout, covering headers and the bounded body read),
/// turns transport failures (timeouts, connection failures) into transient <see cref="HttpFailure"/>s and non-2xx
/// statuses into failures classified by <see cref="HttpFailureRules"/>, quoting at most
/// <see cref="HttpSupport.MaxQuotedBodyChars"/> characters of the error body with the call's secrets removed.
/// No retries here: the retry decorators of <c>Core/Reliability</c> read the classification.
/// The caller's <see cref="OperationCanceledException"/> always propagates unchanged.
/// </summary>
internal sealed class HttpDelivery
{
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly HttpFailureRules _rules;
    private readonly Func<HttpFailure, Exception> _toException;

    /// <summary>Creates the helper.</summary>
    /// <param name="timeout">Per-call deadline (the sending client's <see cref="HttpClient.Timeout"/>); infinite for none.</param>
    /// <param name="time">Clock for an HTTP-date <c>Retry-After</c>.</param>
    /// <param name="rules">The service's classification rules.</param>
    /// <param name="toException">Turns a failure into the exception the adapter's port documents.</param>
    public HttpDelivery(TimeSpan timeout, TimeProvider time, HttpFailureRules rules, Func<HttpFailure, Exception> toException)
    {
        _timeout = timeout;
        _time = time;
        _rules = rules;
        _toException = toException;
    }

    /// <summary>The per-call deadline.</summary>
    public TimeSpan Timeout => _timeout;

    /// <summary>
    /// The helper of an outward delivery port: failures become <see cref="DeliveryException"/>s with
    /// <paramref name="target"/> (or, when null, the call's <see cref="HttpCall.Target"/>).
    /// </summary>
    public static HttpDelivery ForDeliveries(TimeSpan timeout, TimeProvider? time, HttpFailureRules rules, string? target = null) =>
        new(timeout, time ?? TimeProvider.System, rules,
            f => new DeliveryException(target ?? f.Call.Target!, f.StatusCode, f.IsTransient, f.Message, f.RetryAfter, f.Inner));

    /// <summary>
    /// Sends with <paramref name="send"/> (which must read only the response headers,
    /// <see cref="HttpCompletionOption.ResponseHeadersRead"/>) and returns the 2xx exchange; the caller disposes it.
    /// </summary>
    /// <exception cref="Exception">What the adapter's <c>toException</c> makes of a transport failure or a non-2xx status.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task<HttpExchange> SendAsync(Func<CancellationToken, Task<HttpResponseMessage>> send, HttpCall call, CancellationToken cancellationToken)
    {
        var deadline = HttpSupport.Deadline(_timeout, cancellationToken);
        HttpResponseMessage response;
        try
        {
            response = await send(deadline.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            deadline.Dispose();
            if (HttpSupport.DescribeTransportFailure(ex, _timeout, cancellationToken) is { } reason)
                throw _toException(new HttpFailure(call, null, true, $"{call.What} failed: {reason}", null, ex));
            throw;
        }

        var exchange = new HttpExchange(response, deadline, cancellationToken);
        if (response.IsSuccessStatusCode) return exchange;
        using (exchange)
            throw _toException(await ClassifyAsync(exchange, call).ConfigureAwait(false));
    }

    /// <summary>
    /// Reads a 2xx body of at most <paramref name="maxBytes"/> bytes under the deadline. Null when it is larger; a
    /// connection failure or the deadline while reading is a transient failure carrying the status.
    /// </summary>
    /// <exception cref="OperationCanceledException">The caller cancelled.</exception>
    public async Task<byte[]?> ReadSuccessBodyAsync(HttpExchange exchange, HttpCall call, int maxBytes)
    {
        try
        {
            return await HttpSupport.ReadBoundedAsync(exchange.Response.Content, maxBytes, exchange.Deadline).ConfigureAwait(false);
        }
        catch (Exception ex) when (HttpSupport.DescribeTransportFailure(ex, _timeout, exchange.CallerToken) is { } reason)
        {
            throw _toException(new HttpFailure(call, exchange.Status, true, $"{call.What} failed: {reason}", null, ex));
        }
    }

    /// <summary>Classifies a non-2xx exchange (reads its body, bounded, under the deadline).</summary>
    internal async Task<HttpFailure> ClassifyAsync(HttpExchange exchange, HttpCall call)
    {
        var status = exchange.Status;
        var body = await exchange.ReadBodyAsync().ConfigureAwait(false);
        var detail = HttpSupport.Quote(_rules.DescribeBody(body), [.. call.Secrets]);
        var transient = _rules.IsTransient(status);
        var message = $"{call.Rejected}: HTTP {status}{_rules.Hint(status)}" + (detail.Length > 0 ? $" {detail}" : "");
        return new HttpFailure(call, status, transient, message, transient ? _rules.RetryAfter(exchange.Response, _time) : null, null);
    }
}

/// <summary>A response that arrived, with the deadline still bounding its body. Disposing it disposes both.</summary>
internal sealed class HttpExchange : IDisposable
{
    private readonly CancellationTokenSource _deadline;
    private HttpResponseMessage? _response;

    internal HttpExchange(HttpResponseMessage response, CancellationTokenSource deadline, CancellationToken callerToken)
    {
        _response = response;
        _deadline = deadline;
        CallerToken = callerToken;
    }

    /// <summary>The response (its body not read yet).</summary>
    public HttpResponseMessage Response => _response ?? throw new ObjectDisposedException(nameof(HttpExchange));

    /// <summary>The HTTP status code.</summary>
    public int Status => (int)Response.StatusCode;

    /// <summary>The caller's token linked with the per-call deadline.</summary>
    public CancellationToken Deadline => _deadline.Token;

    /// <summary>The caller's own token.</summary>
    public CancellationToken CallerToken { get; }

    /// <summary>
    /// At most <see cref="HttpSupport.MaxBodyBytes"/> of the body as UTF-8 (empty when reading fails: the status is what
    /// matters). Throws <see cref="OperationCanceledException"/> when the caller cancelled meanwhile.
    /// </summary>
    public async Task<string> ReadBodyAsync()
    {
        var body = await HttpSupport.ReadBodyAsync(Response.Content, Deadline).ConfigureAwait(false);
        CallerToken.ThrowIfCancellationRequested();
        return body;
    }

    /// <summary>Hands the response to the caller (who then owns and disposes it) and ends the deadline; for streamed bodies.</summary>
    public HttpResponseMessage Detach()
    {
        var response = Response;
        _response = null;
        _deadline.Dispose();
        return response;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _response?.Dispose();
        _response = null;
        _deadline.Dispose();
    }
}
