using System.Net;

namespace AutoSaveRollout.Azure;

/// <summary>
/// Decides whether an Azure Storage failure is worth retrying. Rule (learn "Azure Storage error codes" / retry guidance):
/// 408 (request timeout), 429 (throttled), 500 (<c>InternalError</c>, <c>OperationTimedOut</c>), 502, 503
/// (<c>ServerBusy</c>) and 504 are transient; so are failures without a response (socket/I-O errors, client timeouts).
/// Every other status (400, 403, 404, 409, 412, 413, …) is permanent for the same request.
/// </summary>
public static class StorageErrorClassifier
{
    /// <summary>True when a response with <paramref name="status"/> (and optional <paramref name="errorCode"/>) may succeed if retried.</summary>
    public static bool IsTransient(int status, string? errorCode = null) => status switch
    {
        (int)HttpStatusCode.RequestTimeout => true,
        (int)HttpStatusCode.TooManyRequests => true,
        (int)HttpStatusCode.InternalServerError => true,
        (int)HttpStatusCode.BadGateway => true,
        (int)HttpStatusCode.ServiceUnavailable => true,
        (int)HttpStatusCode.GatewayTimeout => true,
        // Azure answers 409 while a container with the same name is still being deleted; it clears by itself.
        (int)HttpStatusCode.Conflict => errorCode is "ContainerBeingDeleted",
        0 => true,
        _ => false,
    };
}
