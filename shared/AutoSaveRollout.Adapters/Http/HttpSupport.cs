using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace AutoSaveRollout.Adapters.Http;

/// <summary>
/// Shared plumbing of the outward HTTP adapters: endpoint validation, a per-call deadline, failure classification,
/// bounded and secret-free reading of error bodies. No retries here — the adapters classify failures and a policy
/// around them decides whether to retry.
/// </summary>
internal static class HttpSupport
{
    /// <summary>Most characters of a server's error body quoted in an exception message.</summary>
    internal const int MaxQuotedBodyChars = 200;

    /// <summary>Most bytes read from an error or success body (bodies of these APIs are tiny).</summary>
    internal const int MaxBodyBytes = 16 * 1024;

    /// <summary>
    /// True for statuses where the same request may succeed later: 408, 429 and every 5xx
    /// (Slack rate limits and PagerDuty Events v2 "retry on 429 / 5xx"; RFC 9110 for 408).
    /// </summary>
    internal static bool IsTransientStatus(int status) => status == 408 || status == 429 || status >= 500;

    /// <summary>True when <paramref name="uri"/> names a loopback host: <c>localhost</c>, <c>127.0.0.0/8</c> or <c>::1</c>.</summary>
    internal static bool IsLoopback(Uri uri) =>
        string.Equals(uri.IdnHost, "localhost", StringComparison.OrdinalIgnoreCase) ||
        (IPAddress.TryParse(uri.IdnHost.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>
    /// Requires an absolute <c>https</c> URL, or <c>http</c> on a loopback host (local fakes and tests).
    /// Throws <see cref="ArgumentException"/> naming <paramref name="what"/> — never the URL, which may be a secret.
    /// </summary>
    internal static void RequireHttpsOrLoopback(Uri? uri, string what, string paramName)
    {
        if (uri is null || !uri.IsAbsoluteUri)
            throw new ArgumentException($"{what} must be an absolute URL", paramName);
        if (uri.Scheme == Uri.UriSchemeHttps) return;
        if (uri.Scheme == Uri.UriSchemeHttp && IsLoopback(uri)) return;
        throw new ArgumentException(
            $"{what} must use https (plain http is accepted only for loopback hosts: localhost, 127.0.0.1, ::1)", paramName);
    }

    /// <summary>
    /// A token source cancelled by the caller's token or after <paramref name="timeout"/> (the client's
    /// <see cref="HttpClient.Timeout"/>), so that reading the body (done after
    /// <see cref="HttpCompletionOption.ResponseHeadersRead"/>) is bounded by the same deadline.
    /// </summary>
    internal static CancellationTokenSource Deadline(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout != Timeout.InfiniteTimeSpan) cts.CancelAfter(timeout);
        return cts;
    }

    /// <summary>
    /// Describes a failure to get a response at all (no secrets: only the kind of failure).
    /// Returns null when <paramref name="ex"/> is not a transport failure, or when the caller cancelled
    /// (the caller's <see cref="OperationCanceledException"/> must propagate unchanged).
    /// </summary>
    internal static string? DescribeTransportFailure(Exception ex, TimeSpan timeout, CancellationToken callerToken)
    {
        if (callerToken.IsCancellationRequested) return null;
        return ex switch
        {
            OperationCanceledException => timeout == Timeout.InfiniteTimeSpan
                ? "request timed out"
                : $"request timed out after {FormatSeconds(timeout)}",
            HttpRequestException hre => hre.HttpRequestError switch
            {
                HttpRequestError.Unknown => InnerSocketError(hre) is { } se ? $"connection failed ({se})" : "request failed",
                var kind => $"connection failed ({kind}{(InnerSocketError(hre) is { } se ? ", " + se : "")})",
            },
            IOException => "connection failed while reading the response",
            _ => null,
        };
    }

    private static SocketError? InnerSocketError(Exception ex)
    {
        for (var e = ex.InnerException; e is not null; e = e.InnerException)
            if (e is SocketException s) return s.SocketErrorCode;
        return null;
    }

    private static string FormatSeconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>
    /// The server's requested wait from <c>Retry-After</c> (delta-seconds or HTTP-date, RFC 9110 §10.2.3);
    /// a date is converted with <paramref name="time"/> and clamped at zero. Null when absent.
    /// </summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage response, TimeProvider time)
    {
        RetryConditionHeaderValue? value = response.Headers.RetryAfter;
        if (value?.Delta is { } delta) return delta < TimeSpan.Zero ? TimeSpan.Zero : delta;
        if (value?.Date is { } date)
        {
            var wait = date - time.GetUtcNow();
            return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
        }
        return null;
    }

    /// <summary>
    /// Reads at most <see cref="MaxBodyBytes"/> of <paramref name="content"/> as UTF-8. Failures while reading give
    /// an empty string: the status code is what matters, a half-read error body must not mask it.
    /// </summary>
    internal static async Task<string> ReadBodyAsync(HttpContent content, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            var buffer = new byte[MaxBodyBytes];
            var total = 0;
            while (total < buffer.Length)
            {
                var n = await stream.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false);
                if (n == 0) break;
                total += n;
            }
            return Encoding.UTF8.GetString(buffer, 0, total);
        }
        catch (Exception ex) when (ex is IOException or HttpRequestException or OperationCanceledException or ObjectDisposedException)
        {
            return string.Empty;
        }
    }

    /// <summary>
    /// The whole of <paramref name="content"/>, or null when it is longer than <paramref name="maxBytes"/> bytes.
    /// Transport failures propagate (the caller classifies them).
    /// </summary>
    internal static async Task<byte[]?> ReadBoundedAsync(HttpContent content, int maxBytes, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int n;
        while ((n = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + n > maxBytes) return null;
            buffer.Write(chunk, 0, n);
        }
        return buffer.ToArray();
    }

    /// <summary>
    /// <c>message: errors[0]; errors[1]</c> from the JSON object PagerDuty puts in an error body (Events API v2: the
    /// root; REST API v2: its <c>error</c> member, developer-docs <c>REST-API/14-Errors.md</c>). Null when the body is
    /// not JSON or <paramref name="select"/> finds neither field: the caller then quotes the raw body.
    /// </summary>
    internal static string? DescribeJsonError(string body, Func<JsonObject, JsonObject?> select)
    {
        try
        {
            if (JsonNode.Parse(body) is JsonObject root && select(root) is { } o)
            {
                var message = o["message"] is JsonValue m && m.TryGetValue<string>(out var s) ? s : null;
                var errors = o["errors"] is JsonArray a
                    ? a.Select(x => x is JsonValue xv && xv.TryGetValue<string>(out var xs) ? xs : x?.ToJsonString()).Where(x => !string.IsNullOrEmpty(x)).ToList()
                    : [];
                if (message is not null || errors.Count > 0)
                    return (message ?? "error") + (errors.Count > 0 ? ": " + string.Join("; ", errors) : "");
            }
        }
        catch (JsonException)
        {
        }
        return null;
    }

    /// <summary>
    /// Makes server-supplied text safe to quote in a message: removes every occurrence of <paramref name="secrets"/>,
    /// turns control characters into spaces, collapses whitespace, and truncates to
    /// <see cref="MaxQuotedBodyChars"/> characters (appending "…").
    /// </summary>
    internal static string Quote(string? text, params string?[] secrets)
    {
        if (string.IsNullOrEmpty(text)) return string.Empty;
        foreach (var secret in secrets)
            if (!string.IsNullOrEmpty(secret))
                text = text.Replace(secret, "[redacted]", StringComparison.Ordinal);

        var sb = new StringBuilder(Math.Min(text.Length, MaxQuotedBodyChars + 1));
        var lastWasSpace = true;
        foreach (var c in text)
        {
            var ch = char.IsControl(c) || char.IsWhiteSpace(c) ? ' ' : c;
            if (ch == ' ' && lastWasSpace) continue;
            sb.Append(ch);
            lastWasSpace = ch == ' ';
            if (sb.Length > MaxQuotedBodyChars) break;
        }
        var result = sb.ToString().TrimEnd();
        if (result.Length <= MaxQuotedBodyChars) return result;
        var cut = MaxQuotedBodyChars;
        if (char.IsHighSurrogate(result[cut - 1])) cut--;
        return result[..cut] + "…";
    }

    /// <summary>
    /// The parts of a secret URL (a Slack webhook) a server might echo: the URL itself, its path, its query, and every path
    /// segment of 6 or more characters (a webhook's last segment is its token), longest first, for <see cref="Quote"/>.
    /// </summary>
    internal static string[] SecretParts(Uri url) =>
        new[] { url.OriginalString, url.AbsoluteUri, url.PathAndQuery, url.AbsolutePath, url.Query.TrimStart('?') }
            .Concat(url.AbsolutePath.Split('/').Select(Uri.UnescapeDataString).Where(segment => segment.Length >= 6))
            .Where(part => part.Length > 1)
            .Distinct(StringComparer.Ordinal)
            .OrderByDescending(part => part.Length)
            .ToArray();

    /// <summary>
    /// Truncates <paramref name="text"/> to at most <paramref name="maxChars"/> UTF-16 code units without splitting a
    /// surrogate pair.
    /// </summary>
    internal static string Truncate(string text, int maxChars)
    {
        if (text.Length <= maxChars) return text;
        var cut = maxChars;
        if (cut > 0 && char.IsHighSurrogate(text[cut - 1])) cut--;
        return text[..cut];
    }
}
