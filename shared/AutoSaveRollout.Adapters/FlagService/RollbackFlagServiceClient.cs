using System.Net.Http.Headers;
using System.Net.Mime;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using AutoSaveRollout.Adapters.Http;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.FlagService;

/// <summary>
/// <see cref="IRollbackFlagService"/> over HTTP: <c>POST {BaseUrl}/flags/{flag}/rollback</c> (flag URL-escaped) with
/// <c>{"from_phase":"B","to_phase":"A","reason":"…","decision_id":"…"}</c>, headers
/// <c>Authorization: Bearer &lt;token&gt;</c> and <c>Idempotency-Key: &lt;decision_id&gt;</c> (sent as a bare token, as
/// Stripe-style services expect; the IETF draft-ietf-httpapi-idempotency-key-header describes it as a structured-field
/// string, which servers following the draft may require quoted).
/// <para>
/// Outcome: any 2xx → success (a server replaying a completed request under the same Idempotency-Key returns the
/// original 2xx, so a repeated rollback also succeeds). 409 → <b>transient</b>: under the IETF idempotency draft §2.7 it
/// means "a request with this key is still being processed"; retrying later yields the original outcome.
/// 422 → permanent (key reused with a different payload). 429 (+<c>Retry-After</c>), 408, 5xx, timeouts and connection
/// failures → transient; other statuses → permanent, quoting at most ~200 characters of the error body.
/// No retries here; the token never appears in exception messages.
/// </para>
/// </summary>
public sealed class RollbackFlagServiceClient : IRollbackFlagService
{
    /// <summary>Longest decision id accepted as an Idempotency-Key (common server limit, e.g. Zuora/Stripe: 255).</summary>
    public const int MaxDecisionIdLength = 255;

    private const string Target = "flag-service";
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>
    /// The flag service's classification: the shared rules, plus 409 transient (IETF draft-ietf-httpapi-idempotency-key-header
    /// §2.7: a request with this Idempotency-Key is still being processed).
    /// </summary>
    internal static readonly HttpFailureRules Rules = HttpFailureRules.Default with
    {
        IsTransient = status => status == 409 || HttpSupport.IsTransientStatus(status),
        Hint = status => status == 409 ? " (a request with this Idempotency-Key is still in progress)" : "",
    };

    private readonly HttpClient _http;
    private readonly HttpDelivery _delivery;
    private readonly string _baseUrl;
    private readonly string _token;

    /// <summary>Creates the client.</summary>
    /// <param name="http">Client to send with; its <see cref="HttpClient.Timeout"/> bounds each call (headers and body).</param>
    /// <param name="options">Base URL and bearer token.</param>
    /// <param name="timeProvider">Clock for an HTTP-date <c>Retry-After</c>; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">
    /// BaseUrl missing, not absolute, or http on a non-loopback host; token missing or containing whitespace/control
    /// characters. Messages never contain the token.
    /// </exception>
    public RollbackFlagServiceClient(HttpClient http, FlagServiceOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        HttpSupport.RequireHttpsOrLoopback(options.BaseUrl, "FlagService BaseUrl", nameof(options));
        if (!string.IsNullOrEmpty(options.BaseUrl!.Query) || !string.IsNullOrEmpty(options.BaseUrl.Fragment))
            throw new ArgumentException("FlagService BaseUrl must not have a query string or fragment", nameof(options));
        if (!string.IsNullOrEmpty(options.BaseUrl.UserInfo))
            throw new ArgumentException("FlagService BaseUrl must not embed credentials; use FlagService:Token", nameof(options));
        if (string.IsNullOrWhiteSpace(options.Token))
            throw new ArgumentException("flag service token is not configured (FlagService:Token)", nameof(options));
        if (options.Token.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
            throw new ArgumentException("flag service token contains whitespace or control characters", nameof(options));
        _http = http;
        _delivery = HttpDelivery.ForDeliveries(http.Timeout, timeProvider, Rules, Target);
        _baseUrl = options.BaseUrl.AbsoluteUri.TrimEnd('/');
        _token = options.Token;
    }

    /// <summary>The URL a rollback of <paramref name="flag"/> is posted to: <c>{BaseUrl}/flags/{escaped flag}/rollback</c>.</summary>
    public Uri RollbackUrl(string flag) => new($"{_baseUrl}/flags/{Uri.EscapeDataString(flag)}/rollback");

    /// <inheritdoc />
    /// <exception cref="ArgumentException">
    /// Empty flag, phase or reason; not exactly one phase back (C→B, B→A, A→off); decision id empty, longer than 255
    /// characters, or not visible ASCII (it becomes a header value). Thrown before anything is sent.
    /// </exception>
    /// <exception cref="DeliveryException">Classified as in the type's remarks; <see cref="DeliveryException.Target"/> is <c>flag-service</c>.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public Task RollbackAsync(FlagRollbackRequest request, CancellationToken cancellationToken = default)
    {
        Validate(request);
        if ((request.FromPhase, request.ToPhase) is not (("C", "B") or ("B", "A") or ("A", "off")))
            throw new ArgumentException($"a rollback goes exactly one phase back (C→B, B→A, A→off), not {request.FromPhase}→{request.ToPhase}",
                nameof(request));
        var body = JsonSerializer.Serialize(new RollbackBody(request.FromPhase, request.ToPhase, request.Reason, request.DecisionId), Json);
        return PostAsync(RollbackUrl(request.Flag), body, request.DecisionId,
            $"rollback of flag '{request.Flag}' {request.FromPhase}→{request.ToPhase} (decision {request.DecisionId})", cancellationToken);
    }

    /// <summary>The URL a phase move of <paramref name="flag"/> is posted to: <c>{BaseUrl}/flags/{escaped flag}/phase</c>.</summary>
    public Uri PhaseUrl(string flag) => new($"{_baseUrl}/flags/{Uri.EscapeDataString(flag)}/phase");

    /// <summary>
    /// <c>POST {BaseUrl}/flags/{flag}/phase</c> with <c>{"from_phase":"A","to_phase":"B","reason":"…","move_id":"…"}</c> and
    /// <c>Idempotency-Key: &lt;move_id&gt;</c>; outcomes classified as for <see cref="RollbackAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// Empty flag, phase or reason; the move is not exactly one phase forward (A→B, B→C, C→complete); move id empty,
    /// longer than 255 characters or not visible ASCII. Thrown before anything is sent.
    /// </exception>
    /// <exception cref="DeliveryException">Classified as in the type's remarks; target <c>flag-service</c>.</exception>
    public Task SetPhaseAsync(FlagPhaseRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        Validate(new FlagRollbackRequest(request.Flag, request.FromPhase, request.ToPhase, request.Reason, request.MoveId));
        if (!IsOneStepForward(request.FromPhase, request.ToPhase))
            throw new ArgumentException($"a phase move goes exactly one phase forward (A→B, B→C, C→complete), not {request.FromPhase}→{request.ToPhase}",
                nameof(request));
        var body = JsonSerializer.Serialize(new PhaseBody(request.FromPhase, request.ToPhase, request.Reason, request.MoveId), Json);
        return PostAsync(PhaseUrl(request.Flag), body, request.MoveId,
            $"phase move of flag '{request.Flag}' {request.FromPhase}→{request.ToPhase} (move {request.MoveId})", cancellationToken);
    }

    private static bool IsOneStepForward(string from, string to) => (from, to) is ("A", "B") or ("B", "C") or ("C", "complete");

    private async Task PostAsync(Uri url, string body, string idempotencyKey, string what, CancellationToken cancellationToken)
    {
        using var message = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, MediaTypeNames.Application.Json),
        };
        message.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        message.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        message.Headers.Accept.ParseAdd(MediaTypeNames.Application.Json);

        using var exchange = await _delivery.SendAsync(
            deadline => _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, deadline), new HttpCall(what, [_token]),
            cancellationToken).ConfigureAwait(false);
    }

    private static void Validate(FlagRollbackRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrWhiteSpace(request.Flag)) throw new ArgumentException("flag is required", nameof(request));
        if (string.IsNullOrWhiteSpace(request.FromPhase)) throw new ArgumentException("from_phase is required", nameof(request));
        if (string.IsNullOrWhiteSpace(request.ToPhase)) throw new ArgumentException("to_phase is required", nameof(request));
        if (string.IsNullOrWhiteSpace(request.Reason)) throw new ArgumentException("reason is required", nameof(request));
        var id = request.DecisionId;
        if (string.IsNullOrEmpty(id)) throw new ArgumentException("decision_id is required (it is the Idempotency-Key)", nameof(request));
        if (id.Length > MaxDecisionIdLength)
            throw new ArgumentException($"decision_id is {id.Length} characters; at most {MaxDecisionIdLength} fit an Idempotency-Key", nameof(request));
        if (id.Any(c => c < 0x21 || c > 0x7E))
            throw new ArgumentException("decision_id must be visible ASCII (it is sent as the Idempotency-Key header)", nameof(request));
    }

    /// <summary>Names the base URL only; never the token.</summary>
    public override string ToString() => $"RollbackFlagServiceClient {_baseUrl}";

    private sealed record RollbackBody(
        [property: JsonPropertyName("from_phase")] string FromPhase,
        [property: JsonPropertyName("to_phase")] string ToPhase,
        [property: JsonPropertyName("reason")] string Reason,
        [property: JsonPropertyName("decision_id")] string DecisionId);

    private sealed record PhaseBody(
        [property: JsonPropertyName("from_phase")] string FromPhase,
        [property: JsonPropertyName("to_phase")] string ToPhase,
        [property: JsonPropertyName("reason")] string Reason,
        [property: JsonPropertyName("move_id")] string MoveId);
}
