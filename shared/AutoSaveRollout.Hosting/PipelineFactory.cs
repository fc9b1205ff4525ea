using AutoSaveRollout.Adapters.FlagService;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Adapters.Slack;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reliability;
using Microsoft.Extensions.Configuration;

namespace AutoSaveRollout.Hosting;

/// <summary>
/// The composition root shared by every command: reads configuration (appsettings.json in the working directory, then
/// environment variables, e.g. <c>Slack__Webhooks__incident_autosave</c>) and builds the adapters. Secret values are only
/// handed to the adapters; nothing here prints them.
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

    /// <summary>Builds the ports on the embedded file-system backend rooted at <paramref name="storageRoot"/> (see the other overload).</summary>
    public static PipelinePorts CreatePorts(IConfiguration config, string storageRoot, TimeProvider time, bool dryRun, RolloutPolicy policy, HttpClient? http = null,
        RetryPolicy? retries = null) =>
        CreatePorts(config, StorageSelection.Embedded(storageRoot), time, dryRun, policy, http, retries: retries);

    /// <summary>
    /// Builds the ports on the selected storage backend. Outside dry-run the Slack, PagerDuty and flag-service settings must
    /// be complete; when <c>PagerDuty:ApiToken</c> is set, <see cref="PipelinePorts.PagerDutyIncidents"/> is the REST API
    /// client (<c>PagerDuty:ApiUrl</c>, <c>PagerDuty:From</c> required, <c>PagerDuty:EscalationPriority</c> default P1) and
    /// the policy's escalation channel needs a Slack webhook too. Throws <see cref="ConfigurationException"/> for missing or invalid settings (never echoing secrets).
    /// The Slack, PagerDuty and flag-service clients are wrapped in retry decorators using <paramref name="retries"/>
    /// (default: the production limits of <see cref="RetryOptions"/> on <paramref name="time"/>), returned as
    /// <see cref="PipelinePorts.Retries"/>.
    /// </summary>
    public static PipelinePorts CreatePorts(IConfiguration config, StorageSelection storage, TimeProvider time, bool dryRun, RolloutPolicy policy,
        HttpClient? http = null, string messageEncoding = "base64", RetryPolicy? retries = null)
    {
        retries ??= new RetryPolicy(new RetryOptions { Time = time });
        http ??= new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        IBlobStore blobs;
        IQueueFactory queues;
        IDistributedLock locks;
        string description;
        if (storage.Kind == StorageKind.Azure)
        {
            // One entry point builds the SDK clients from the connection in the Functions convention (connection string, or
            // __blobServiceUri/__queueServiceUri/__credential/__clientId); --connection overrides the setting's value.
            var name = storage.ConnectionName ?? AzureStorageOptions.DefaultConnectionName;
            var source = storage.ConnectionString is { } inline
                ? new ConfigurationBuilder().AddInMemoryCollection([new KeyValuePair<string, string?>(name, inline)]).Build()
                : config;
            var options = storage.AzureOptions ?? new AzureStorageOptions();
            if (messageEncoding == "none") options.MessageEncoding = global::Azure.Storage.Queues.QueueMessageEncoding.None;
            try
            {
                var azure = AzureStorageRegistration.Create(source, name, options);
                azure.VerifyAccessAsync(options.LockContainer).GetAwaiter().GetResult();
                (blobs, queues, locks, description) = (azure.Blobs, azure.Queues, azure.Locks, azure.Description);
            }
            catch (AzureStorageConfigurationException ex) { throw new ConfigurationException(ex.Message); }
        }
        else
        {
            var root = Path.GetFullPath(storage.Root!);
            Directory.CreateDirectory(root);
            blobs = new FileBlobStore(BlobRoot(root));
            queues = new FileQueueFactory(root, time);
            locks = new FileDistributedLock(root, time);
            description = "embedded folder " + root + " (blobs under blobs/)";
        }
        if (dryRun)
            return new PipelinePorts(blobs, queues, locks, DisabledNotifiers.Instance, DisabledNotifiers.Instance, DisabledNotifiers.Instance, description)
                { Retries = retries };

        var escalating = config["PagerDuty:ApiToken"] is { Length: > 0 };
        var slack = ReadSlackOptions(config, policy, escalating);
        var pagerDuty = new PagerDutyOptions
        {
            RoutingKey = Require(config, "PagerDuty:RoutingKey"),
            EventsUrl = config["PagerDuty:EventsUrl"] is { Length: > 0 } u ? new Uri(u) : PagerDutyOptions.DefaultEventsUrl,
        };
        if (escalating)
        {
            pagerDuty.ApiToken = config["PagerDuty:ApiToken"];
            pagerDuty.ApiUrl = config["PagerDuty:ApiUrl"] is { Length: > 0 } a ? ParseUrl(a, "PagerDuty:ApiUrl") : PagerDutyOptions.DefaultApiUrl;
            pagerDuty.From = config["PagerDuty:From"] is { Length: > 0 } from ? from
                : throw new ConfigurationException("configuration: PagerDuty:From is not set; it is required with PagerDuty:ApiToken " +
                                                   "(the email of a PagerDuty user, environment PagerDuty__From)");
            if (config["PagerDuty:EscalationPriority"] is { } priority)
                pagerDuty.EscalationPriority = priority.Trim() is { Length: > 0 } p ? p
                    : throw new ConfigurationException("configuration: PagerDuty:EscalationPriority is empty (omit it for the default P1)");
        }
        var flags = new FlagServiceOptions
        {
            BaseUrl = new Uri(Require(config, "FlagService:BaseUrl")),
            Token = Require(config, "FlagService:Token"),
        };
        try
        {
            return new PipelinePorts(blobs, queues, locks,
                new ResilientSlackNotifier(new SlackWebhookNotifier(http, slack), retries),
                new ResilientPagerDutyEvents(new PagerDutyEventsClient(http, pagerDuty), retries),
                new ResilientFlagService(new RollbackFlagServiceClient(http, flags), retries),
                description)
            {
                Retries = retries,
                PagerDutyIncidents = escalating ? new ResilientPagerDutyIncidents(new PagerDutyRestClient(http, pagerDuty, time), retries) : null,
                EscalationPriority = pagerDuty.EscalationPriority,
            };
        }
        catch (ArgumentException ex)
        {
            throw new ConfigurationException("configuration: " + Reason(ex));
        }
    }

    /// <summary>The telemetry source: <c>--telemetry</c> path, else <c>Telemetry:Path</c>, else <c>Telemetry:Url</c> (HTTP).</summary>
    public static ITelemetrySource CreateSource(IConfiguration config, string? pathOverride, HttpClient? http = null)
    {
        var path = pathOverride ?? config["Telemetry:Path"];
        if (!string.IsNullOrWhiteSpace(path))
        {
            if (!File.Exists(path) && !Directory.Exists(path)) throw new ConfigurationException($"telemetry path not found: {path}");
            return new FileTelemetrySource(path);
        }
        if (config["Telemetry:Url"] is { Length: > 0 } url)
        {
            return new HttpTelemetrySource(http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(60) },
                new HttpTelemetrySourceOptions { Url = new Uri(url), Token = config["Telemetry:Token"] });
        }
        throw new ConfigurationException("no telemetry source: pass --telemetry <file|folder> or set Telemetry:Path or Telemetry:Url");
    }

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

    /// <summary>
    /// Storage ports only (blobs, queues, locks; the outward ports refuse every call), for operator commands that never send,
    /// such as <c>dlq</c>. Needs no policy and no Slack, PagerDuty or flag-service settings.
    /// </summary>
    public static PipelinePorts CreateStoragePorts(IConfiguration config, StorageSelection storage, TimeProvider time, string messageEncoding = "base64") =>
        CreatePorts(config, storage, time, dryRun: true, policy: null!, messageEncoding: messageEncoding); // dry-run ports never read the policy

    // With escalation (PagerDuty:ApiToken set) the escalation channel needs a webhook too.
    private static SlackOptions ReadSlackOptions(IConfiguration config, RolloutPolicy policy, bool escalating)
    {
        var options = new SlackOptions();
        foreach (var child in config.GetSection("Slack:Webhooks").GetChildren())
            if (!string.IsNullOrWhiteSpace(child.Value)) options.Webhooks[child.Key] = child.Value!;
        var configured = options.Webhooks.Keys.Select(SlackOptions.NormaliseChannelKey).ToHashSet(StringComparer.Ordinal);
        foreach (var channel in new[] { policy.Channels.Ok, policy.Channels.Warn, policy.Channels.Incident }.Distinct())
        {
            var key = SlackOptions.NormaliseChannelKey(channel);
            if (!configured.Contains(key))
                throw new ConfigurationException($"configuration: no Slack webhook for {channel} (set Slack__Webhooks__{key}, or use --dry-run)");
        }
        if (escalating && SlackOptions.NormaliseChannelKey(policy.Channels.Escalation) is var escalationKey && !configured.Contains(escalationKey))
            throw new ConfigurationException($"configuration: no Slack webhook for the escalation channel {policy.Channels.Escalation}, required " +
                                             $"because PagerDuty:ApiToken is set (set Slack__Webhooks__{escalationKey}, or use --dry-run)");
        return options;
    }

    // An adapter's ArgumentException message without the " (Parameter 'options')" .NET appends: the operator needs the rule.
    private static string Reason(ArgumentException ex) =>
        ex.ParamName is { } name ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;

    // A URL setting; the message names the setting, never the value.
    private static Uri ParseUrl(string value, string key) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) ? uri : throw new ConfigurationException($"configuration: {key} is not an absolute URL");

    private static string Require(IConfiguration config, string key) =>
        config[key] is { Length: > 0 } v ? v
            : throw new ConfigurationException($"configuration: {key} is not set (environment {key.Replace(":", "__")}, or use --dry-run)");
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
