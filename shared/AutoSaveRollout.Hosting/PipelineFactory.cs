using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reliability;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Hosting;

/// <summary>
/// Small helpers around the composition (<see cref="RolloutPipelineRegistration"/>): configuration loading (appsettings.json in
/// the working directory, then environment variables, e.g. <c>Slack__Webhooks__incident_autosave</c>), the storage selection
/// from the command line, and ports without stages. Secret values are only handed to the adapters; nothing here prints them.
/// </summary>
public static class PipelineFactory
{
    /// <summary>Default embedded storage folder (relative to the working directory).</summary>
    public const string DefaultStorageRoot = ".rollout";

    /// <summary>Blob folder inside an embedded storage root (queues and locks live beside it, so no container name can clash).</summary>
    public static string BlobRoot(string storageRoot) => Path.Combine(Path.GetFullPath(storageRoot), "blobs");

    /// <summary>Loads configuration: <c>appsettings.json</c> (optional) then environment variables.</summary>
    public static IConfiguration LoadConfiguration(string? basePath = null) =>
        new ConfigurationBuilder()
            .SetBasePath(basePath ?? Directory.GetCurrentDirectory())
            .AddJsonFile("appsettings.json", optional: true)
            .AddEnvironmentVariables()
            .Build();

    /// <summary>
    /// The ports of <see cref="RolloutPipelineRegistration.AddRolloutPipeline"/> for the given inputs, checked as at start-up
    /// (see <see cref="RolloutPipelineRegistration.ValidateRolloutPipeline"/>); for callers that need ports without stages.
    /// Throws <see cref="ConfigurationException"/> for missing or invalid settings (never echoing secrets).
    /// </summary>
    public static PipelinePorts CreatePorts(IConfiguration config, StorageSelection storage, TimeProvider time, bool dryRun, RolloutPolicy policy,
        HttpClient? http = null, string messageEncoding = "base64", RetryPolicy? retries = null) =>
        Ports(config, new RolloutHostOptions
        {
            Storage = storage, Time = time, DryRun = dryRun, Policy = policy, Http = http, MessageEncoding = messageEncoding, Retries = retries,
        });

    /// <summary>The same on the embedded file-system backend rooted at <paramref name="storageRoot"/>.</summary>
    public static PipelinePorts CreatePorts(IConfiguration config, string storageRoot, TimeProvider time, bool dryRun, RolloutPolicy policy, HttpClient? http = null,
        RetryPolicy? retries = null) =>
        CreatePorts(config, StorageSelection.Embedded(storageRoot), time, dryRun, policy, http, retries: retries);

    /// <summary>
    /// Storage ports only (blobs, queues, locks; the outward ports refuse every call), for operator commands that never send,
    /// such as <c>dlq</c>. Needs no policy and no Slack, PagerDuty or flag-service settings.
    /// </summary>
    public static PipelinePorts CreateStoragePorts(IConfiguration config, StorageSelection storage, TimeProvider time, string messageEncoding = "base64") =>
        Ports(config, new RolloutHostOptions { Storage = storage, Time = time, StorageOnly = true, MessageEncoding = messageEncoding });

    private static PipelinePorts Ports(IConfiguration config, RolloutHostOptions host) =>
        new ServiceCollection().AddRolloutPipeline(config, host).BuildServiceProvider().ValidateRolloutPipeline().GetRequiredService<PipelinePorts>();

    /// <summary>
    /// Storage from the command line: <c>--storage embedded</c> (default; <paramref name="root"/>) or <c>--storage azure</c> with
    /// <c>--connection</c> (a connection string), else the <c>AzureWebJobsStorage</c> connection as Azure Functions reads it
    /// (a connection string, or the identity settings <c>AzureWebJobsStorage__blobServiceUri</c>, <c>__queueServiceUri</c>,
    /// <c>__credential</c>, <c>__clientId</c>).
    /// </summary>
    public static StorageSelection SelectStorage(IConfiguration config, string? kind, string root, string? connection)
    {
        switch (kind?.ToLowerInvariant())
        {
            case null or "" or "embedded":
                return StorageSelection.Embedded(root);
            case "azure":
                if (!string.IsNullOrWhiteSpace(connection)) return StorageSelection.Azure(connection);
                var section = config.GetSection(AzureStorageOptions.DefaultConnectionName);
                if (string.IsNullOrWhiteSpace(section.Value) && !section.GetChildren().Any())
                    throw new ConfigurationException("--storage azure needs --connection \"<connection string>\" or the AzureWebJobsStorage setting " +
                                                     "(a connection string, or AzureWebJobsStorage__blobServiceUri and __queueServiceUri for an identity)");
                return StorageSelection.AzureConnection(AzureStorageOptions.DefaultConnectionName);
            default:
                throw new ConfigurationException($"--storage must be embedded or azure (got '{kind}')");
        }
    }
}

/// <summary>Storage backends.</summary>
public enum StorageKind
{
    /// <summary>Files on disk (the default).</summary>
    Embedded,
    /// <summary>Azure Blob and Queue storage (or Azurite) through the Azure SDK.</summary>
    Azure,
}

/// <summary>Which storage a run uses.</summary>
/// <param name="Kind">Backend.</param>
/// <param name="Root">Embedded folder (for <see cref="StorageKind.Embedded"/>).</param>
/// <param name="ConnectionString">
/// Azure Storage connection string given inline (for <see cref="StorageKind.Azure"/>, e.g. <c>--connection</c>); a secret, never
/// printed. Null: the connection is read from the configuration setting <see cref="ConnectionName"/>.
/// </param>
public sealed record StorageSelection(StorageKind Kind, string? Root, string? ConnectionString)
{
    /// <summary>Name of the connection setting (default <c>AzureWebJobsStorage</c>); names the setting in error messages.</summary>
    public string? ConnectionName { get; init; }

    /// <summary>SDK client settings for <see cref="StorageKind.Azure"/> (service version, retries; tests: credential, transport). Null: defaults.</summary>
    public AzureStorageOptions? AzureOptions { get; init; }

    /// <summary>The embedded folder at <paramref name="root"/>.</summary>
    public static StorageSelection Embedded(string root) => new(StorageKind.Embedded, root, null);

    /// <summary>Azure storage reached through <paramref name="connectionString"/>.</summary>
    public static StorageSelection Azure(string connectionString) => new(StorageKind.Azure, null, connectionString);

    /// <summary>Azure storage reached through the connection setting <paramref name="connectionName"/> (connection string or identity settings).</summary>
    public static StorageSelection AzureConnection(string connectionName) => new(StorageKind.Azure, null, null) { ConnectionName = connectionName };

    /// <inheritdoc />
    public override string ToString() => Kind == StorageKind.Azure ? "azure" : "embedded " + Root;
}
