using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reliability;
using AutoSaveRollout.Core.Reporting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace AutoSaveRollout.Hosting;

/// <summary>
/// App settings the Azure Functions app reads (configuration keys; as app settings or environment variables <c>:</c> is
/// written <c>__</c>, e.g. <c>Policy__Path</c>). The Slack, PagerDuty, flag-service and telemetry keys are read by
/// <see cref="PipelineFactory"/>; they are listed here so the settings example and the infrastructure can be checked
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
    /// Every configuration key the app reads (in <c>:</c> form), including those read by <see cref="PipelineFactory"/>.
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
/// Composition of the Azure Functions app: the same ports and stages as the standalone host's <c>run</c> command, built
/// from app settings. Everything that depends on configuration is built when <see cref="AddRolloutPipeline"/> runs, so a
/// misconfigured app fails at start-up with one clear message instead of failing (and poisoning) every queue message.
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
    /// Registers the pipeline for the Functions app: <see cref="TimeProvider"/> (system clock unless one is already
    /// registered or <paramref name="time"/> is given), <see cref="FunctionsPipelineSettings"/>, <see cref="PipelinePorts"/>
    /// on Azure Storage, <see cref="ITelemetrySource"/>, <see cref="RolloutPolicy"/>, <see cref="TemplateRenderer"/> and the
    /// <see cref="Collector"/>, <see cref="Analyzer"/> and <see cref="Reporter"/> stages as singletons (stages log through
    /// <see cref="ILogger{TCategoryName}"/> from the container), and the <see cref="RetryPolicy"/> shared by the outward
    /// clients and the Collector (<paramref name="retries"/>, default: production limits on the clock). Throws <see cref="ConfigurationException"/>,
    /// <see cref="PolicyValidationException"/> or <see cref="TemplateException"/> when the configuration is unusable.
    /// </summary>
    public static IServiceCollection AddRolloutPipeline(this IServiceCollection services, IConfiguration config, string appDirectory,
        TimeProvider? time = null, HttpClient? http = null, RetryPolicy? retries = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var (settings, storage) = ReadSettings(config, appDirectory);
        if (!File.Exists(settings.PolicyPath))
            throw new ConfigurationException($"configuration: policy file not found: {settings.PolicyPath} (set {Env(FunctionsAppSettings.PolicyPath)})");
        var policy = PolicyLoader.LoadFile(settings.PolicyPath);
        var templates = TemplateRenderer.Load(settings.TemplatesPath);
        var clock = time ?? TimeProvider.System;
        var ports = PipelineFactory.CreatePorts(config, storage, clock, settings.DryRun, policy, http, settings.HostJson.MessageEncoding, retries);
        var source = PipelineFactory.CreateSource(config, pathOverride: null, http);

        if (time is not null) services.AddSingleton(time);
        else services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(settings);
        services.AddSingleton(ports);
        services.AddSingleton(ports.Retries);
        services.AddSingleton(source);
        services.AddSingleton(policy);
        services.AddSingleton(templates);
        services.AddSingleton(sp => new Collector(ports.Blobs, ports.Queues, ports.Locks, source, sp.GetRequiredService<TimeProvider>(),
            new CollectorOptions { Retries = ports.Retries }, sp.GetService<ILogger<Collector>>()));
        services.AddSingleton(sp => new Analyzer(ports.Blobs, ports.Queues, policy, sp.GetRequiredService<TimeProvider>(),
            new AnalyzerOptions { InitialPhase = settings.InitialPhase }, sp.GetService<ILogger<Analyzer>>()));
        services.AddSingleton(sp => ports.CreateLifecycle(policy, templates, sp.GetRequiredService<TimeProvider>(), settings.DryRun,
            sp.GetService<ILoggerFactory>()?.CreateLogger("Lifecycle")));
        services.AddSingleton(sp => new Reporter(ports.Blobs, policy, templates, ports.Slack, ports.PagerDuty, ports.Flags,
            sp.GetRequiredService<TimeProvider>(), new ReporterOptions { DryRun = settings.DryRun }, sp.GetService<ILogger<Reporter>>(),
            sp.GetRequiredService<LifecycleService>()));
        return services;
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
