using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;

namespace AutoSaveRollout.Azure;

/// <summary>
/// How <see cref="AzureStorageRegistration"/> builds the Azure SDK clients. The defaults are the production settings;
/// tests replace <see cref="Credential"/> and <see cref="Transport"/>.
/// </summary>
/// <remarks>
/// <para><b>Service version.</b> Pinned to 2026-06-06 for both services: the SDK's default (2026-10-06 in Azure.Storage.Blobs
/// 12.30.1 / Azure.Storage.Queues 12.28.1) is newer than Azurite 3.37.0 accepts (Azurite checks <c>x-ms-version</c> and
/// the tests keep that check on). Azure accepts both.</para>
/// <para><b>Retries are decided once, here.</b> The SDK retries a failed request in-process (408, 429, 500, 502, 503, 504,
/// and failures without a response) at most <see cref="MaxRetries"/> times with exponential backoff from
/// <see cref="RetryDelay"/> up to <see cref="MaxRetryDelay"/> (defaults: 2 retries after about 0.5 s and 1 s, so at most
/// 3 attempts within about 1.5 s plus the attempts' own time, each bounded by <see cref="NetworkTimeout"/>). A failure that
/// survives them reaches the pipeline as a transient <c>StorageException</c> with <c>RetriedByClient</c> set: the pipeline's
/// Polly retries (<c>RetryPolicy</c>) then do not retry the same call again, and the message being processed is left to
/// the queue's redelivery (visibility timeout, then dead-letter after the policy's maximum dequeue count). So a storage
/// call is tried at most <c>1 + MaxRetries</c> times per delivery of a message.</para>
/// </remarks>
public sealed class AzureStorageOptions
{
    /// <summary>The connection the pipeline uses unless told otherwise: the one the Functions runtime uses for its queue triggers.</summary>
    public const string DefaultConnectionName = "AzureWebJobsStorage";

    /// <summary>Blob REST version sent as <c>x-ms-version</c>. Default <see cref="BlobClientOptions.ServiceVersion.V2026_06_06"/> (newest Azurite 3.37.0 accepts).</summary>
    public BlobClientOptions.ServiceVersion BlobServiceVersion { get; set; } = BlobClientOptions.ServiceVersion.V2026_06_06;

    /// <summary>Queue REST version sent as <c>x-ms-version</c>. Default <see cref="QueueClientOptions.ServiceVersion.V2026_06_06"/>.</summary>
    public QueueClientOptions.ServiceVersion QueueServiceVersion { get; set; } = QueueClientOptions.ServiceVersion.V2026_06_06;

    /// <summary>
    /// Message encoding on the wire. Default <see cref="QueueMessageEncoding.Base64"/>, what the Azure Functions queue trigger
    /// expects (host.json <c>extensions.queues.messageEncoding</c>, default <c>base64</c>).
    /// </summary>
    public QueueMessageEncoding MessageEncoding { get; set; } = QueueMessageEncoding.Base64;

    /// <summary>In-process retries of one request by the SDK (0–10). Default 2 (3 attempts). See the remarks.</summary>
    public int MaxRetries { get; set; } = 2;

    /// <summary>First backoff of the SDK's exponential retry. Default 0.5 s.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(0.5);

    /// <summary>Longest backoff of the SDK's exponential retry. Default 4 s.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>Timeout of one attempt (one HTTP request and response). Default 30 s.</summary>
    public TimeSpan NetworkTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Container holding the lock blobs of <see cref="AzureBlobLeaseLock"/>. Default <c>locks</c>.</summary>
    public string LockContainer { get; set; } = "locks";

    /// <summary>
    /// Credential for an identity-based connection, replacing the one the settings describe (<c>__credential</c>,
    /// <c>__clientId</c>). Null (the default) in production; tests pass a credential issuing emulator tokens.
    /// </summary>
    public TokenCredential? Credential { get; set; }

    /// <summary>HTTP transport for the SDK clients; null = the SDK's default. Tests pass one trusting their self-signed certificate.</summary>
    public HttpPipelineTransport? Transport { get; set; }

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> for a value outside its documented range.</summary>
    public void Validate()
    {
        if (MaxRetries is < 0 or > 10) throw new ArgumentOutOfRangeException(nameof(MaxRetries), MaxRetries, "MaxRetries must be 0–10.");
        if (RetryDelay <= TimeSpan.Zero || MaxRetryDelay < RetryDelay)
            throw new ArgumentOutOfRangeException(nameof(RetryDelay), RetryDelay, "RetryDelay must be positive and not above MaxRetryDelay.");
        if (NetworkTimeout <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(NetworkTimeout), NetworkTimeout, "NetworkTimeout must be positive.");
        BlobPath.ValidateContainer(LockContainer, LockContainer);
    }

    internal void Apply(ClientOptions options)
    {
        options.Retry.Mode = RetryMode.Exponential;
        options.Retry.MaxRetries = MaxRetries;
        options.Retry.Delay = RetryDelay;
        options.Retry.MaxDelay = MaxRetryDelay;
        options.Retry.NetworkTimeout = NetworkTimeout;
        if (Transport is not null) options.Transport = Transport;
    }
}
