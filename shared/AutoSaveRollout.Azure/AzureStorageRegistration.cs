using Azure;
using Azure.Core;
using Azure.Identity;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using AutoSaveRollout.Core.Ports;
using Microsoft.Extensions.Azure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Azure;

/// <summary>A storage connection setting is missing or unusable. The message is one line naming the setting, never its value.</summary>
public sealed class AzureStorageConfigurationException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>The three storage ports on one Azure Storage account, built by <see cref="AzureStorageRegistration.Create"/>.</summary>
/// <param name="Blobs">Blob port.</param>
/// <param name="Queues">Queue port.</param>
/// <param name="Locks">Lock port (blob leases).</param>
/// <param name="ConnectionName">The setting the connection came from, e.g. <c>AzureWebJobsStorage</c>.</param>
/// <param name="UsesIdentity">True for an identity-based connection (service URIs and a token credential).</param>
/// <param name="Description">Endpoints and kind of credential, safe to log (no key, SAS or token).</param>
public sealed record AzureStoragePorts(
    AzureBlobStore Blobs, AzureQueueFactory Queues, AzureBlobLeaseLock Locks, string ConnectionName, bool UsesIdentity, string Description)
{
    /// <summary>
    /// Checks once, read-only, that the account accepts the credential: does the lock container exist (Blob) and the first
    /// page of List Queues (Queue). Throws <see cref="AzureStorageConfigurationException"/> (one line naming the setting)
    /// when storage answers 401/403 or no token can be obtained; transient failures (storage down) are ignored so a
    /// start-up during an outage still starts. Needs Storage Blob Data Reader and Storage Queue Data Reader at least.
    /// </summary>
    public async Task VerifyAccessAsync(string lockContainer = "locks", CancellationToken cancellationToken = default)
    {
        var credentialSetting = UsesIdentity ? $"{ConnectionName}__credential / {ConnectionName}__clientId" : ConnectionName;
        try
        {
            await Blobs.Service.GetBlobContainerClient(lockContainer).ExistsAsync(cancellationToken).ConfigureAwait(false);
            await foreach (var _ in Queues.Service.GetQueuesAsync(cancellationToken: cancellationToken).AsPages(pageSizeHint: 1).ConfigureAwait(false))
                break;
        }
        catch (RequestFailedException ex) when (ex.Status is 401 or 403)
        {
            throw new AzureStorageConfigurationException(
                $"configuration: {credentialSetting}: storage refused the credential (HTTP {ex.Status} {ex.ErrorCode}); " +
                (UsesIdentity
                    ? "check the identity and its roles (Storage Blob Data Owner, Storage Queue Data Contributor)"
                    : "check the account key or SAS"), ex);
        }
        catch (Exception ex) when (ex is AuthenticationFailedException or CredentialUnavailableException)
        {
            throw new AzureStorageConfigurationException(
                $"configuration: {credentialSetting}: no token for storage ({ex.GetType().Name}: {StorageFailure.FirstLine(ex.Message)})", ex);
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested && new StorageFailure("", 0).Map("", "", ex, cancellationToken) is { IsTransient: true })
        {
            // Storage unreachable right now: the pipeline rides outages out; the credential is checked by the first real call.
        }
    }
}

/// <summary>
/// The one entry point that builds the Azure storage ports from configuration in the Azure Functions convention, read through
/// Microsoft.Extensions.Azure's <see cref="AzureComponentFactory"/> (the same reader the Functions runtime's storage
/// extensions use), so the pipeline and the runtime's queue triggers are configured the same way:
/// <list type="bullet">
/// <item>a connection string in <c>{name}</c> (<c>UseDevelopmentStorage=true</c>, account key, or SAS); or</item>
/// <item>identity settings: <c>{name}__blobServiceUri</c> and <c>{name}__queueServiceUri</c> (or <c>{name}__accountName</c>
/// for the public cloud's default endpoints), <c>{name}__credential=managedidentity</c> with optional <c>{name}__clientId</c>
/// of a user-assigned identity; without <c>__credential</c> (local development) the factory's default credential
/// (<see cref="DefaultAzureCredential"/>) is used.</item>
/// </list>
/// The clients get <see cref="AzureStorageOptions"/>: pinned service version, explicit retries, message encoding.
/// </summary>
public static class AzureStorageRegistration
{
    private static readonly Lazy<AzureComponentFactory> Factory = new(() =>
    {
        var services = new ServiceCollection();
        services.AddAzureClientsCore();
        return services.BuildServiceProvider().GetRequiredService<AzureComponentFactory>();
    });

    /// <summary>
    /// Builds the ports for the connection called <paramref name="connectionName"/> (default <c>AzureWebJobsStorage</c>).
    /// Does no I/O; call <see cref="AzureStoragePorts.VerifyAccessAsync"/> to check the credential at start-up.
    /// Throws <see cref="AzureStorageConfigurationException"/> (one line naming the setting, never its value) when the
    /// connection is missing, the connection string is malformed, a service URI is missing or not an absolute https/http
    /// URI, or <c>__credential</c> has a value other than <c>managedidentity</c>.
    /// </summary>
    public static AzureStoragePorts Create(IConfiguration config, string connectionName = AzureStorageOptions.DefaultConnectionName, AzureStorageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);
        options ??= new AzureStorageOptions();
        options.Validate();
        var factory = Factory.Value;
        var section = config.GetSection(connectionName);

        IConfiguration blobConfig, queueConfig;
        TokenCredential? credential = null;
        string description;
        bool identity;
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            blobConfig = queueConfig = Single("connectionString", section.Value);
            identity = false;
            description = "connection string, credential: " +
                (section.Value.Contains("SharedAccessSignature=", StringComparison.OrdinalIgnoreCase) ? "shared access signature" : "shared key");
        }
        else
        {
            if (!section.GetChildren().Any())
                throw new AzureStorageConfigurationException(
                    $"configuration: no storage connection: set {connectionName} (a connection string) or {connectionName}__blobServiceUri and " +
                    $"{connectionName}__queueServiceUri (identity)");
            var blobUri = ServiceUri(section, connectionName, "blobServiceUri", "blob");
            var queueUri = ServiceUri(section, connectionName, "queueServiceUri", "queue");
            var kind = section["credential"];
            if (!string.IsNullOrWhiteSpace(kind) && !kind.Trim().Equals("managedidentity", StringComparison.OrdinalIgnoreCase))
                throw new AzureStorageConfigurationException(
                    $"configuration: {connectionName}__credential must be managedidentity, or be left unset for local development");
            if (!string.IsNullOrWhiteSpace(section["clientId"]) && !Guid.TryParse(section["clientId"], out _))
                throw new AzureStorageConfigurationException($"configuration: {connectionName}__clientId is not a client id (a GUID)");
            credential = options.Credential ?? factory.CreateTokenCredential(section);
            blobConfig = Single("serviceUri", blobUri.AbsoluteUri);
            queueConfig = Single("serviceUri", queueUri.AbsoluteUri);
            identity = true;
            description = "identity, credential: " + (options.Credential is not null ? "supplied token credential"
                : string.IsNullOrWhiteSpace(kind) ? "default credential chain"
                : "managed identity" + (string.IsNullOrWhiteSpace(section["clientId"]) ? " (system-assigned)" : " (user-assigned)"));
        }

        var blobOptions = (BlobClientOptions)factory.CreateClientOptions(typeof(BlobClientOptions), options.BlobServiceVersion, section);
        options.Apply(blobOptions);
        var queueOptions = (QueueClientOptions)factory.CreateClientOptions(typeof(QueueClientOptions), options.QueueServiceVersion, section);
        options.Apply(queueOptions);
        queueOptions.MessageEncoding = options.MessageEncoding;
        var rawQueueOptions = (QueueClientOptions)factory.CreateClientOptions(typeof(QueueClientOptions), options.QueueServiceVersion, section);
        options.Apply(rawQueueOptions);
        rawQueueOptions.MessageEncoding = QueueMessageEncoding.None;

        BlobServiceClient blobService;
        QueueServiceClient queueService, rawQueueService;
        try
        {
            blobService = (BlobServiceClient)factory.CreateClient(typeof(BlobServiceClient), blobConfig, credential, blobOptions);
            queueService = (QueueServiceClient)factory.CreateClient(typeof(QueueServiceClient), queueConfig, credential, queueOptions);
            rawQueueService = (QueueServiceClient)factory.CreateClient(typeof(QueueServiceClient), queueConfig, credential, rawQueueOptions);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException or InvalidOperationException
                                       or System.Reflection.TargetInvocationException)
        {
            // The SDK's messages may quote parts of the string: name the setting only.
            throw new AzureStorageConfigurationException(
                $"configuration: {connectionName} is not a usable Azure Storage connection string (expected UseDevelopmentStorage=true, " +
                "AccountName=…;AccountKey=…, or BlobEndpoint=…;QueueEndpoint=…;SharedAccessSignature=…)");
        }

        var blobs = new AzureBlobStore(blobService, options.MaxRetries);
        var queues = new AzureQueueFactory(queueService, rawQueueService, options.MessageEncoding, options.MaxRetries);
        var locks = new AzureBlobLeaseLock(blobs, options.LockContainer);
        return new AzureStoragePorts(blobs, queues, locks, connectionName, identity,
            $"azure storage {WithoutQuery(blobService.Uri)} and {WithoutQuery(queueService.Uri)} via {connectionName}: {description}");
    }

    /// <summary>
    /// Registers <see cref="AzureStoragePorts"/> and the ports <see cref="IBlobStore"/>, <see cref="IQueueFactory"/> and
    /// <see cref="IDistributedLock"/> as singletons, built now by <see cref="Create"/> so a bad setting fails at registration.
    /// </summary>
    public static IServiceCollection AddAzureStoragePorts(this IServiceCollection services, IConfiguration config,
        string connectionName = AzureStorageOptions.DefaultConnectionName, AzureStorageOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var ports = Create(config, connectionName, options);
        services.AddSingleton(ports);
        services.AddSingleton<IBlobStore>(ports.Blobs);
        services.AddSingleton<IQueueFactory>(ports.Queues);
        services.AddSingleton<IDistributedLock>(ports.Locks);
        return services;
    }

    private static IConfiguration Single(string key, string value) =>
        new ConfigurationBuilder().AddInMemoryCollection([new KeyValuePair<string, string?>(key, value)]).Build();

    // {name}__{key}, else https://{accountName}.{service}.core.windows.net (the accountName form, public cloud only).
    private static Uri ServiceUri(IConfigurationSection section, string name, string key, string service)
    {
        var value = section[key];
        if (string.IsNullOrWhiteSpace(value) && section["accountName"] is { Length: > 0 } account)
            value = $"https://{account.Trim()}.{service}.core.windows.net";
        if (string.IsNullOrWhiteSpace(value))
            throw new AzureStorageConfigurationException(
                $"configuration: {name}__{key} is not set (identity-based connection; or set {name} to a connection string)");
        if (!Uri.TryCreate(value.Trim(), UriKind.Absolute, out var uri) || uri.Scheme is not ("https" or "http") || !string.IsNullOrEmpty(uri.Query))
            throw new AzureStorageConfigurationException($"configuration: {name}__{key} is not an absolute https URI without query");
        return uri;
    }

    private static string WithoutQuery(Uri uri) => new UriBuilder(uri) { Query = "" }.Uri.GetLeftPart(UriPartial.Path).TrimEnd('/');
}
