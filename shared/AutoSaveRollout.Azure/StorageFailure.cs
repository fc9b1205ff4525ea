using Azure;
using Azure.Identity;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reliability;

namespace AutoSaveRollout.Azure;

/// <summary>
/// Turns what the Azure SDK throws into the port's <see cref="StorageException"/>: <see cref="RequestFailedException"/>
/// keeps its HTTP status and <c>ErrorCode</c> (the <c>x-ms-error-code</c>); 408, 429 and 5xx and failures without a
/// response are transient (<see cref="TransientFailures.IsTransientStatus"/>), and were already retried by the SDK when
/// its retry policy allows retries (<see cref="StorageException.RetriedByClient"/>). Token failures (Azure.Identity
/// <see cref="AuthenticationFailedException"/>, <see cref="CredentialUnavailableException"/>) are permanent. Messages name
/// the operation and the <c>container/name</c> or queue, never a URL (which may carry a SAS) or a key.
/// </summary>
internal sealed class StorageFailure(string service, int maxRetries)
{
    /// <summary>Runs <paramref name="call"/>, mapping SDK failures; the caller's cancellation passes through unchanged.</summary>
    public async Task<T> RunAsync<T>(string operation, string resource, Func<Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception ex) when (Map(operation, resource, ex, cancellationToken) is { } mapped)
        {
            throw mapped;
        }
    }

    /// <summary>The <see cref="StorageException"/> for <paramref name="exception"/>, or null when it is not a storage failure (or the caller cancelled).</summary>
    public StorageException? Map(string operation, string resource, Exception exception, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested || exception is StorageException) return null;
        var what = $"Azure {service} {operation} '{resource}'";
        switch (exception)
        {
            case RequestFailedException { Status: > 0 } r:
            {
                var transient = TransientFailures.IsTransientStatus(r.Status);
                var requestId = r.GetRawResponse()?.Headers.TryGetValue("x-ms-request-id", out var id) == true ? $" (x-ms-request-id {id})" : "";
                return new StorageException($"{what} failed: HTTP {r.Status} {r.ErrorCode ?? "(no error code)"}{requestId}.", r.Status, r.ErrorCode, transient, r)
                    { RetriedByClient = transient && maxRetries > 0 };
            }
            case RequestFailedException r: // Status 0: no response (connection refused, reset, DNS).
                return NoResponse(what, r);
            case AggregateException a when a.InnerExceptions.All(e => e is RequestFailedException or OperationCanceledException or IOException or HttpRequestException):
                // Azure.Core throws this when every attempt failed without a response.
                return NoResponse(what, a);
            case AuthenticationFailedException or CredentialUnavailableException:
                return new StorageException($"{what} failed: no token ({exception.GetType().Name}: {FirstLine(exception.Message)})", 401,
                    "TokenUnavailable", isTransient: false, exception);
            case OperationCanceledException: // NetworkTimeout, not the caller.
                return new StorageException($"{what} timed out.", 0, "ClientTimeout", isTransient: true, exception) { RetriedByClient = maxRetries > 0 };
            case IOException or HttpRequestException:
                return NoResponse(what, exception);
            default:
                return null;
        }
    }

    private StorageException NoResponse(string what, Exception exception) =>
        new($"{what} failed without a response ({FirstLine((exception.InnerException ?? exception).Message)}).", 0, null, isTransient: true, exception)
            { RetriedByClient = maxRetries > 0 };

    /// <summary>First line of <paramref name="message"/>, at most 300 characters.</summary>
    internal static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length <= 300 ? line : line[..300] + "…";
    }
}
