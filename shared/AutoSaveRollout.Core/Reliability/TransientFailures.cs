using System.Net.Sockets;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Outboxes;

namespace AutoSaveRollout.Core.Reliability;

/// <summary>
/// The one error classification behind every retry: which failures may succeed when the same call is repeated.
/// Transient: HTTP 5xx, 408 and 429 (RFC 9110; Slack and PagerDuty say to retry 429 and 5xx), timeouts, socket and I/O
/// errors. Permanent: every other 4xx (a repeated 400/403/404 fails the same way), configuration errors and anything
/// unknown. A cancellation the caller asked for is never retried.
/// </summary>
public static class TransientFailures
{
    /// <summary>True for 408, 429 and every 5xx.</summary>
    public static bool IsTransientStatus(int status) => status == 408 || status == 429 || status >= 500;

    /// <summary>
    /// True when repeating the call may succeed:
    /// <see cref="DeliveryException"/>, <see cref="StorageException"/>, <see cref="TelemetrySourceException"/> and
    /// <see cref="ReportDeliveryException"/> (a report whose outward actions failed) by their
    /// own <c>IsTransient</c> (set by the adapters from the status or failure kind); <see cref="HttpRequestException"/> by its
    /// status when it has one, else transient (no response: connection refused, reset, DNS); <see cref="TimeoutException"/>,
    /// <see cref="IOException"/> and <see cref="SocketException"/>; an <see cref="OperationCanceledException"/> (including
    /// <see cref="TaskCanceledException"/>) only when <paramref name="callerToken"/> was not cancelled, i.e. a timeout.
    /// Everything else is permanent.
    /// </summary>
    public static bool IsTransient(Exception exception, CancellationToken callerToken = default)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (callerToken.IsCancellationRequested) return false;
        return exception switch
        {
            DeliveryException d => d.IsTransient,
            StorageException s => s.IsTransient,
            TelemetrySourceException t => t.IsTransient,
            ReportDeliveryException r => r.IsTransient,
            HttpRequestException { StatusCode: { } status } => IsTransientStatus((int)status),
            HttpRequestException => true,
            TimeoutException or IOException or SocketException => true,
            OperationCanceledException => true,
            _ => false,
        };
    }

    /// <summary>The server-requested wait carried by <paramref name="exception"/> (<see cref="DeliveryException.RetryAfter"/>), if any.</summary>
    public static TimeSpan? RetryAfter(Exception exception) => exception is DeliveryException { RetryAfter: { } wait } ? wait : null;

    /// <summary>HTTP status carried by <paramref name="exception"/>, if any (delivery, storage or <see cref="HttpRequestException"/>).</summary>
    public static int? StatusCode(Exception exception) => exception switch
    {
        DeliveryException d => d.StatusCode,
        StorageException { Status: > 0 } s => s.Status,
        HttpRequestException { StatusCode: { } status } => (int)status,
        _ => null,
    };

    /// <summary><c>{Type}: {Message}</c>, on one line and at most <paramref name="maxChars"/> characters (the ports keep secrets out of messages).</summary>
    public static string Describe(Exception exception, int maxChars = 500)
    {
        var text = $"{exception.GetType().Name}: {exception.Message}".ReplaceLineEndings(" ");
        return text.Length <= maxChars ? text : text[..(char.IsHighSurrogate(text[maxChars - 1]) ? maxChars - 1 : maxChars)] + "…";
    }
}
