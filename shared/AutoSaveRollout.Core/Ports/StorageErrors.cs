namespace AutoSaveRollout.Core.Ports;

/// <summary>
/// A storage operation failed. <see cref="ErrorCode"/> is the backend's error code (for Azure, the
/// <c>x-ms-error-code</c> value such as <c>ServerBusy</c>); <see cref="Status"/> is the HTTP status or
/// an equivalent for the embedded store. Messages never contain account keys or SAS tokens.
/// </summary>
public class StorageException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">Human-readable reason, free of secrets.</param>
    /// <param name="status">HTTP status (or equivalent), 0 when there was no response.</param>
    /// <param name="errorCode">Backend error code, e.g. <c>ServerBusy</c>, <c>BlobNotFound</c>.</param>
    /// <param name="isTransient">True when retrying the same request may succeed (throttling, 5xx, I/O).</param>
    /// <param name="inner">Underlying exception, if any.</param>
    public StorageException(string message, int status, string? errorCode, bool isTransient, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
        ErrorCode = errorCode;
        IsTransient = isTransient;
    }

    /// <summary>HTTP status (or equivalent); 0 when no response was received.</summary>
    public int Status { get; }

    /// <summary>Backend error code, e.g. <c>ConditionNotMet</c>, <c>ServerBusy</c>; null when unknown.</summary>
    public string? ErrorCode { get; }

    /// <summary>True when the same request may succeed later (Azure: 500/503 <c>ServerBusy</c>, 429, I/O errors).</summary>
    public bool IsTransient { get; }

    /// <summary>
    /// True when the adapter's own client already retried this request in-process before giving up (the Azure adapter:
    /// the Azure SDK's retry policy). Callers then do not retry the same call again (<c>RetryPolicy.ShouldRetry</c>), so
    /// the two retry layers do not multiply; the failure stays <see cref="IsTransient"/> for queue redelivery and
    /// dead-letter classification.
    /// </summary>
    public bool RetriedByClient { get; init; }
}

/// <summary>
/// A conditional write lost an optimistic-concurrency race: <c>If-Match</c> did not match (Azure 412
/// <c>ConditionNotMet</c>) or <c>If-None-Match: *</c> found an existing blob (Azure 409 <c>BlobAlreadyExists</c>).
/// Callers re-read and retry, or treat "already exists" as done.
/// </summary>
public sealed class ConcurrencyConflictException : StorageException
{
    /// <summary>Creates the exception for <paramref name="path"/>.</summary>
    public ConcurrencyConflictException(string path, int status, string? errorCode)
        : base($"write condition failed for '{path}' ({status} {errorCode})", status, errorCode, isTransient: false)
    {
        Path = path;
    }

    /// <summary>The blob path (<c>container/name</c>) whose condition failed.</summary>
    public string Path { get; }
}
