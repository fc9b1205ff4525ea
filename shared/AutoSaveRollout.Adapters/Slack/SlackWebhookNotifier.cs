using System.Net.Mime;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using AutoSaveRollout.Adapters.Http;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Adapters.Slack;

/// <summary>
/// <see cref="ISlackNotifier"/> over Slack incoming webhooks: <c>POST {webhook}</c> with
/// <c>{"text": "…"}</c> (<c>application/json; charset=utf-8</c>).
/// <para>
/// Outcome (Slack "changes to errors for incoming webhooks", 2016-05-17, and api.slack.com/docs/rate-limits):
/// any 2xx (Slack sends 200 with body <c>ok</c>) is success; 429 → transient <see cref="DeliveryException"/> with
/// <see cref="DeliveryException.RetryAfter"/> from <c>Retry-After</c> (seconds); 5xx, 408, timeouts and connection
/// failures → transient; every other status (400 <c>invalid_payload</c>, 403 <c>action_prohibited</c>,
/// 404 <c>channel_not_found</c>/<c>no_service</c>, 410 <c>channel_is_archived</c>, …) → permanent, quoting Slack's
/// plain-text error body (at most ~200 characters).
/// </para>
/// <para>No retries here. The webhook URL never appears in exception messages.</para>
/// </summary>
public sealed class SlackWebhookNotifier : ISlackNotifier
{
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly HttpClient _http;
    private readonly HttpDelivery _delivery;
    private readonly Dictionary<string, Uri> _webhooks = new(StringComparer.Ordinal);

    /// <summary>Creates the notifier.</summary>
    /// <param name="http">Client to send with; its <see cref="HttpClient.Timeout"/> bounds each call (headers and body).</param>
    /// <param name="options">Webhooks per channel.</param>
    /// <param name="timeProvider">Clock for an HTTP-date <c>Retry-After</c>; defaults to <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentException">
    /// A webhook URL is not absolute, is not https (plain http is accepted for loopback hosts only), or two keys
    /// normalise to the same channel with different URLs. The message names the channel key, never the URL.
    /// </exception>
    public SlackWebhookNotifier(HttpClient http, SlackOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(options);
        _http = http;
        _delivery = HttpDelivery.ForDeliveries(http.Timeout, timeProvider, HttpFailureRules.Default);
        foreach (var (rawKey, rawUrl) in options.Webhooks ?? [])
        {
            if (string.IsNullOrWhiteSpace(rawUrl)) continue;
            var key = SlackOptions.NormaliseChannelKey(rawKey);
            if (!Uri.TryCreate(rawUrl.Trim(), UriKind.Absolute, out var url))
                throw new ArgumentException($"Slack webhook for '{key}' is not an absolute URL", nameof(options));
            HttpSupport.RequireHttpsOrLoopback(url, $"Slack webhook for '{key}'", nameof(options));
            if (_webhooks.TryGetValue(key, out var existing) && existing != url)
                throw new ArgumentException($"Slack webhooks: two entries normalise to channel key '{key}' with different URLs", nameof(options));
            _webhooks[key] = url;
        }
    }

    /// <summary>True when a webhook is configured for <paramref name="channel"/> (matched as in <see cref="SlackOptions.NormaliseChannelKey"/>).</summary>
    public bool HasWebhookFor(string channel) => _webhooks.ContainsKey(SlackOptions.NormaliseChannelKey(channel));

    /// <inheritdoc />
    /// <remarks>
    /// <paramref name="text"/> is posted exactly as given (only JSON escaping is applied); mrkdwn escaping of
    /// <c>&amp;</c>, <c>&lt;</c>, <c>&gt;</c> is the caller's job. Slack truncates text beyond 40,000 characters.
    /// </remarks>
    /// <exception cref="ArgumentException"><paramref name="channel"/> is empty.</exception>
    /// <exception cref="DeliveryException">
    /// Permanent "no Slack webhook configured for #x" when the channel has no webhook; otherwise as classified in the
    /// type's remarks. <see cref="DeliveryException.Target"/> is <c>slack #channel</c>.
    /// </exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async Task PostAsync(string channel, string text, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(text);
        var key = SlackOptions.NormaliseChannelKey(channel);
        var display = "#" + channel.Trim().TrimStart('#');
        var target = "slack " + display;
        if (!_webhooks.TryGetValue(key, out var url))
            throw new DeliveryException(target, null, isTransient: false, $"no Slack webhook configured for {display}");

        var body = JsonSerializer.Serialize(new SlackMessage(text), Json);
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(body, Encoding.UTF8, MediaTypeNames.Application.Json),
        };

        var call = new HttpCall($"Slack post to {display}", HttpSupport.SecretParts(url), target);
        using var exchange = await _delivery.SendAsync(
            deadline => _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, deadline), call, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Names the configured channel keys; never the webhook URLs.</summary>
    public override string ToString() => $"SlackWebhookNotifier [{string.Join(", ", _webhooks.Keys.Order(StringComparer.Ordinal))}]";

    private sealed record SlackMessage([property: System.Text.Json.Serialization.JsonPropertyName("text")] string Text);
}
