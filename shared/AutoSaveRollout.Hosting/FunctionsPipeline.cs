using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reliability;
using AutoSaveRollout.Core.Reporting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Hosting;

/// <summary>
/// App settings the Azure Functions app reads (configuration keys; as app settings or environment variables <c>:</c> is
/// written <c>__</c>, e.g. <c>Policy__Path</c>). The Slack, PagerDuty, flag-service and telemetry keys are bound by
/// <see cref="RolloutPipelineRegistration"/>; they are listed here so the settings example and the infrastructure can be checked
/// against one list.
/// </summary>
public static class FunctionsAppSettings
{
    /// <summary>
    /// The storage connection of the Functions runtime (timer leases, queue triggers) and of the pipeline: a connection string,
    /// or the identity settings <c>AzureWebJobsStorage__blobServiceUri</c>, <c>__queueServiceUri</c>, <c>__tableServiceUri</c>,
    /// <c>__credential=managedidentity</c>, <c>__clientId</c> (read by <c>AzureStorageRegistration</c>).
    /// </summary>
    public const string AzureWebJobsStorage = "AzureWebJobsStorage";

    /// <summary>NCRONTAB schedule of the Collector timer, read by the runtime through <c>%CollectorSchedule%</c>.</summary>
    public const string CollectorSchedule = "CollectorSchedule";

    /// <summary>
    /// NCRONTAB schedule of the lifecycle timer (escalation, RCA deadlines, phase moves, daily report), read by the runtime
    /// through <c>%LifecycleSchedule%</c>; <c>0 */5 * * * *</c> in the settings example and the infrastructure.
    /// </summary>
    public const string LifecycleSchedule = "LifecycleSchedule";

    /// <summary>Policy file; relative paths are resolved against the app directory. Default <c>policy.yaml</c>.</summary>
    public const string PolicyPath = "Policy:Path";

    /// <summary>Optional folder of Slack template overrides (relative to the app directory); empty = built-in templates.</summary>
    public const string TemplatesPath = "Reporter:TemplatesPath";

    /// <summary><c>true</c>/<c>false</c> (default false): render and record everything, send nothing outside.</summary>
    public const string DryRun = "Reporter:DryRun";

    /// <summary>Phase assumed before any rollout state exists: <c>A</c> (default), <c>B</c> or <c>C</c>.</summary>
    public const string InitialPhase = "Analyzer:InitialPhase";

    /// <summary>
    /// Every configuration key the app reads (in <c>:</c> form), including those bound by <see cref="RolloutPipelineRegistration"/>.
    /// <c>Slack:Webhooks</c> is a section: one child per channel of the policy (<c>Slack:Webhooks:incident_autosave</c>, …).
    /// </summary>
    public static readonly IReadOnlyList<string> All =
    [
        AzureWebJobsStorage, CollectorSchedule, LifecycleSchedule, PolicyPath, TemplatesPath, DryRun, InitialPhase,
        "Telemetry:Path", "Telemetry:Url", "Telemetry:Token",
        "Slack:Webhooks",
        "PagerDuty:RoutingKey", "PagerDuty:EventsUrl",
        "PagerDuty:ApiToken", "PagerDuty:ApiUrl", "PagerDuty:From", "PagerDuty:EscalationPriority",
        "FlagService:BaseUrl", "FlagService:Token",
    ];
}

/// <summary>The non-secret settings the Functions app runs with (safe to log).</summary>
/// <param name="StorageSetting">Name of the setting the storage connection came from (never its value).</param>
/// <param name="PolicyPath">Absolute path of the policy file.</param>
/// <param name="TemplatesPath">Absolute path of the template override folder, or null for the built-in templates.</param>
/// <param name="DryRun">Reporter dry-run.</param>
/// <param name="InitialPhase">Phase assumed before any rollout state exists.</param>
/// <param name="HostJson">Queue settings from the app's <c>host.json</c> (the message encoding must match the runtime's).</param>
public sealed record FunctionsPipelineSettings(
    string StorageSetting,
    string PolicyPath,
    string? TemplatesPath,
    bool DryRun,
    Phase InitialPhase,
    HostJsonSettings HostJson);

/// <summary>
/// Composition of the Azure Functions app: the same ports and stages as the standalone host's <c>run</c> command
/// (<see cref="RolloutPipelineRegistration"/>), from app settings. The app's files are read when <see cref="AddRolloutPipeline"/>
/// runs and the settings are checked before the worker runs, so a misconfigured app fails at start-up with one clear message
/// instead of failing (and poisoning) every queue message.
/// </summary>
public static class FunctionsPipeline
{
    /// <summary>
    /// Reads and validates the app settings. <paramref name="appDirectory"/> is where the app's files are (policy.yaml,
    /// host.json; <c>AppContext.BaseDirectory</c> in the app). Throws <see cref="ConfigurationException"/> when no storage
    /// connection is set, a value is invalid, or a setting still holds an unresolved Key Vault reference
    /// (<see cref="UnresolvedKeyVaultPrefix"/>); messages name settings, never their values.
    /// </summary>
    public static (FunctionsPipelineSettings Settings, StorageSelection Storage) ReadSettings(IConfiguration config, string appDirectory)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrWhiteSpace(appDirectory);
        RejectUnresolvedKeyVaultReferences(config);

        var storageSection = config.GetSection(FunctionsAppSettings.AzureWebJobsStorage);
        if (string.IsNullOrWhiteSpace(storageSection.Value) && !storageSection.GetChildren().Any())
            throw new ConfigurationException(
                $"configuration: no storage connection: set {FunctionsAppSettings.AzureWebJobsStorage} (a connection string) or " +
                $"{FunctionsAppSettings.AzureWebJobsStorage}__blobServiceUri and __queueServiceUri with __credential=managedidentity");
        const string storageSetting = FunctionsAppSettings.AzureWebJobsStorage;

        var policyPath = Resolve(appDirectory, config[FunctionsAppSettings.PolicyPath] is { Length: > 0 } p ? p : "policy.yaml");
        var templatesPath = config[FunctionsAppSettings.TemplatesPath] is { Length: > 0 } t ? Resolve(appDirectory, t) : null;

        var dryRun = false;
        if (config[FunctionsAppSettings.DryRun] is { Length: > 0 } d && !bool.TryParse(d.Trim(), out dryRun))
            throw new ConfigurationException($"configuration: {Env(FunctionsAppSettings.DryRun)} must be true or false (got '{d}')");

        var initial = Phase.A;
        if (config[FunctionsAppSettings.InitialPhase] is { Length: > 0 } ph && (!PhaseExtensions.TryParse(ph, out initial) || initial == Phase.Off))
            throw new ConfigurationException($"configuration: {Env(FunctionsAppSettings.InitialPhase)} must be A, B or C (got '{ph}')");

        var hostJson = HostJsonSettings.Load(Path.Combine(appDirectory, "host.json"));
        return (new FunctionsPipelineSettings(storageSetting, policyPath, templatesPath, dryRun, initial, hostJson),
            StorageSelection.AzureConnection(storageSetting));
    }

    /// <summary>
    /// Registers the pipeline for the Functions app: <see cref="FunctionsPipelineSettings"/> and the composition of
    /// <see cref="RolloutPipelineRegistration.AddRolloutPipeline"/> on Azure Storage, with the policy, templates, dry-run,
    /// initial phase and queue message encoding of the app settings and telemetry required (<c>Telemetry:Path</c> or
    /// <c>Telemetry:Url</c>). <paramref name="time"/> is the clock of ports and stages (default: the registered one, else the
    /// system clock); <paramref name="http"/> and <paramref name="retries"/> replace the default client and retry limits.
    /// Throws <see cref="ConfigurationException"/>, <see cref="PolicyValidationException"/> or <see cref="TemplateException"/>
    /// when the app settings or files are unusable; the Slack, PagerDuty, flag-service and telemetry settings are checked at
    /// start-up (<see cref="RolloutPipelineRegistration.ValidateRolloutPipeline"/>, which Program.cs calls before running).
    /// </summary>
    public static IServiceCollection AddRolloutPipeline(this IServiceCollection services, IConfiguration config, string appDirectory,
        TimeProvider? time = null, HttpClient? http = null, RetryPolicy? retries = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (settings, storage) = ReadSettings(config, appDirectory);
        if (!File.Exists(settings.PolicyPath))
            throw new ConfigurationException($"configuration: policy file not found: {settings.PolicyPath} (set {Env(FunctionsAppSettings.PolicyPath)})");
        services.AddSingleton(settings);
        return services.AddRolloutPipeline(config, new RolloutHostOptions
        {
            Storage = storage,
            DryRun = settings.DryRun,
            Policy = PolicyLoader.LoadFile(settings.PolicyPath),
            Templates = TemplateRenderer.Load(settings.TemplatesPath),
            InitialPhase = settings.InitialPhase,
            MessageEncoding = settings.HostJson.MessageEncoding,
            Time = time,
            Http = http,
            Retries = retries,
            RequiresTelemetry = true,
        });
    }

    /// <summary>
    /// App Service passes a Key Vault reference it cannot resolve (secret missing, no access yet) to the app as its literal
    /// text, <c>@Microsoft.KeyVault(...)</c> (learn: "Use Key Vault references as app settings", troubleshooting). Such a
    /// value would otherwise be used as a token or routing key; reject it up front, naming the setting.
    /// </summary>
    private static void RejectUnresolvedKeyVaultReferences(IConfiguration config)
    {
        var keys = FunctionsAppSettings.All.Where(k => k != "Slack:Webhooks")
            .Concat(config.GetSection("Slack:Webhooks").GetChildren().Select(c => c.Path));
        foreach (var key in keys)
            if (config[key] is { } value && value.TrimStart().StartsWith(UnresolvedKeyVaultPrefix, StringComparison.OrdinalIgnoreCase))
                throw new ConfigurationException(
                    $"configuration: {Env(key)} is an unresolved Key Vault reference (secret missing or the app's identity cannot read it yet); set the secret, then restart the app");
    }

    /// <summary>Prefix of an App Service Key Vault reference.</summary>
    public const string UnresolvedKeyVaultPrefix = "@Microsoft.KeyVault(";

    private static string Resolve(string appDirectory, string path) => Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Combine(appDirectory, path));

    private static string Env(string key) => key.Replace(":", "__");
}
