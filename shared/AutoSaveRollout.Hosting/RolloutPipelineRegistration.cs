using AutoSaveRollout.Adapters.FlagService;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Adapters.Slack;
using AutoSaveRollout.Adapters.Telemetry;
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
using Microsoft.Extensions.Options;

namespace AutoSaveRollout.Hosting;

/// <summary>
/// The one composition of the pipeline, used by the Azure Functions app, every CLI command and the test harnesses: ports
/// built from the configuration sections <c>Slack</c>, <c>PagerDuty</c>, <c>FlagService</c> and <c>Telemetry</c> (bound to
/// <see cref="SlackSettings"/>, <see cref="PagerDutySettings"/>, <see cref="FlagServiceSettings"/>,
/// <see cref="TelemetrySettings"/> and validated on start) and the stages on them, as singletons.
/// </summary>
public static class RolloutPipelineRegistration
{
    /// <summary>
    /// Registers <see cref="TimeProvider"/> (<see cref="RolloutHostOptions.Time"/>, else the one already registered, else the
    /// system clock), <paramref name="host"/>, <see cref="StoragePorts"/>, <see cref="RetryPolicy"/>, <see cref="RolloutPolicy"/>
    /// (when given), <see cref="TemplateRenderer"/>, the four settings sections (<c>ValidateOnStart</c>), <see cref="PipelinePorts"/>,
    /// <see cref="ITelemetrySource"/>, <see cref="Collector"/>, <see cref="Analyzer"/>, <see cref="LifecycleService"/>,
    /// <see cref="Reporter"/> and <see cref="DeadLetterService"/>; stages log through <see cref="ILogger{TCategoryName}"/> when
    /// logging is registered.
    /// <para>
    /// The host's own inputs are checked here: storage is opened now (throws <see cref="ConfigurationException"/> for an unusable
    /// connection string). Settings are checked at start-up: call <see cref="ValidateRolloutPipeline"/> once the provider is
    /// built (a Generic Host also runs the checks when it starts); a bad setting is reported as one
    /// <see cref="ConfigurationException"/> naming the setting, never its value.
    /// </para>
    /// </summary>
    /// <exception cref="ArgumentException">Outside dry-run and storage-only, <see cref="RolloutHostOptions.Policy"/> is null.</exception>
    public static IServiceCollection AddRolloutPipeline(this IServiceCollection services, IConfiguration configuration, RolloutHostOptions host)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(host);
        if (host.Sends && host.Policy is null) throw new ArgumentException("the policy is required unless the host is dry-run or storage-only", nameof(host));

        var portTime = host.PortTime ?? host.Time ?? TimeProvider.System;
        var retries = host.Retries ?? new RetryPolicy(new RetryOptions { Time = portTime });
        var http = host.Http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var storage = StorageRegistration.Open(host.Storage, configuration, portTime, host.MessageEncoding);

        if (host.Time is not null) services.AddSingleton(host.Time);
        else services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(host);
        services.AddSingleton(storage);
        services.AddSingleton(retries);
        if (host.Policy is not null) services.AddSingleton(host.Policy);
        services.AddSingleton(host.Templates ?? TemplateRenderer.Load());

        var validator = new RolloutSettingsValidator(host,
            () => configuration.GetSection(PagerDutyOptions.SectionName).Get<PagerDutySettings>() ?? new PagerDutySettings());
        AddSettings<SlackSettings>(services, configuration, SlackOptions.SectionName, validator);
        AddSettings<PagerDutySettings>(services, configuration, PagerDutyOptions.SectionName, validator);
        AddSettings<FlagServiceSettings>(services, configuration, FlagServiceOptions.SectionName, validator);
        AddSettings<TelemetrySettings>(services, configuration, HttpTelemetrySourceOptions.SectionName, validator);

        // PagerDuty's Events v2 and REST v2 APIs are Refit interfaces (source-generated clients through IHttpClientFactory).
        // A host that hands in its own HttpClient (tests against local listeners) gets the same clients on that client.
        services.AddPagerDuty(sp => Settings<PagerDutySettings>(sp).ToOptions());
        services.AddSingleton(sp => CreatePorts(sp, host, storage, http, portTime, retries));
        services.AddSingleton(sp => CreateSource(sp, host));
        services.AddSingleton(sp => sp.GetRequiredService<PipelinePorts>().CreateCollector(sp.GetRequiredService<ITelemetrySource>(),
            sp.GetRequiredService<TimeProvider>(), host.Collector ?? new CollectorOptions { Retries = retries }, sp.GetService<ILogger<Collector>>()));
        services.AddSingleton(sp => sp.GetRequiredService<PipelinePorts>().CreateAnalyzer(sp.GetRequiredService<RolloutPolicy>(),
            sp.GetRequiredService<TimeProvider>(), new AnalyzerOptions { InitialPhase = host.InitialPhase }, sp.GetService<ILogger<Analyzer>>()));
        services.AddSingleton(sp => sp.GetRequiredService<PipelinePorts>().CreateLifecycle(sp.GetRequiredService<RolloutPolicy>(),
            sp.GetRequiredService<TemplateRenderer>(), sp.GetRequiredService<TimeProvider>(), host.DryRun,
            sp.GetService<ILoggerFactory>()?.CreateLogger("Lifecycle")));
        services.AddSingleton(sp => sp.GetRequiredService<PipelinePorts>().CreateReporter(sp.GetRequiredService<RolloutPolicy>(),
            sp.GetRequiredService<TemplateRenderer>(), sp.GetRequiredService<TimeProvider>(), host.DryRun, sp.GetRequiredService<LifecycleService>(),
            sp.GetService<ILogger<Reporter>>()));
        services.AddSingleton(sp => new DeadLetterService(storage.Queues, storage.Blobs, sp.GetRequiredService<TimeProvider>()));
        return services;
    }

    /// <summary>
    /// The start-up check: builds the ports (storage, then the Slack, PagerDuty and flag-service settings, in that order), the
    /// telemetry source when the host requires one, and runs every <c>ValidateOnStart</c> check. Throws
    /// <see cref="ConfigurationException"/> with one line naming the first bad setting. Returns <paramref name="services"/>.
    /// </summary>
    public static IServiceProvider ValidateRolloutPipeline(this IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.GetRequiredService<PipelinePorts>();
        if (services.GetRequiredService<RolloutHostOptions>().RequiresTelemetry) services.GetRequiredService<ITelemetrySource>();
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (OptionsValidationException ex)
        {
            throw new ConfigurationException(ex.Failures.First());
        }
        return services;
    }

    private static void AddSettings<T>(IServiceCollection services, IConfiguration configuration, string section, IValidateOptions<T> validator)
        where T : class
    {
        services.AddSingleton(validator);
        services.AddOptions<T>().Bind(configuration.GetSection(section)).ValidateOnStart();
    }

    // A settings section, validated; a failed check becomes the one-line configuration error.
    private static T Settings<T>(IServiceProvider sp) where T : class
    {
        try
        {
            return sp.GetRequiredService<IOptions<T>>().Value;
        }
        catch (OptionsValidationException ex)
        {
            throw new ConfigurationException(ex.Failures.First());
        }
    }

    // Outside dry-run the Slack, PagerDuty and flag-service settings must be complete; when PagerDuty:ApiToken is set the
    // REST API client is wired too. The outward clients are wrapped in the retry decorators.
    private static PipelinePorts CreatePorts(IServiceProvider sp, RolloutHostOptions host, StoragePorts storage, HttpClient http, TimeProvider time,
        RetryPolicy retries)
    {
        PipelinePorts ports;
        if (!host.Sends)
        {
            ports = new PipelinePorts(storage.Blobs, storage.Queues, storage.Locks, DisabledNotifiers.Instance, DisabledNotifiers.Instance,
                DisabledNotifiers.Instance, storage.Description) { Retries = retries };
        }
        else
        {
            var slack = Settings<SlackSettings>(sp).ToOptions();
            var pagerDutySettings = Settings<PagerDutySettings>(sp);
            var pagerDuty = pagerDutySettings.ToOptions();
            var flags = Settings<FlagServiceSettings>(sp).ToOptions();
            // A flag-service-only host (rollback) wires Slack and PagerDuty only when they are configured.
            var useSlack = !host.FlagServiceOnly || slack.Webhooks.Count > 0;
            var usePagerDuty = !host.FlagServiceOnly || pagerDutySettings.RoutingKey is { Length: > 0 };
            try
            {
                ports = new PipelinePorts(storage.Blobs, storage.Queues, storage.Locks,
                    useSlack ? new ResilientSlackNotifier(new SlackWebhookNotifier(http, slack), retries) : DisabledNotifiers.Instance,
                    usePagerDuty
                        ? new ResilientPagerDutyEvents(host.Http is null ? sp.GetRequiredService<PagerDutyEventsClient>() : PagerDutyClients.CreateEvents(http, pagerDuty), retries)
                        : DisabledNotifiers.Instance,
                    new ResilientFlagService(new RollbackFlagServiceClient(http, flags), retries),
                    storage.Description)
                {
                    Retries = retries,
                    PagerDutyIncidents = usePagerDuty && pagerDutySettings.Escalating ? new ResilientPagerDutyIncidents(
                        host.Http is null ? sp.GetRequiredService<PagerDutyRestClient>() : PagerDutyClients.CreateIncidents(http, pagerDuty, time), retries) : null,
                    EscalationPriority = pagerDuty.EscalationPriority,
                };
            }
            catch (ArgumentException ex)
            {
                throw new ConfigurationException("configuration: " + Reason(ex));
            }
        }
        return host.DecoratePorts is { } decorate ? decorate(ports) : ports;
    }

    // The telemetry source: the host's own, else the --telemetry path, else Telemetry:Path, else Telemetry:Url (HTTP).
    private static ITelemetrySource CreateSource(IServiceProvider sp, RolloutHostOptions host)
    {
        if (host.TelemetrySource is { } given) return given;
        var settings = Settings<TelemetrySettings>(sp);
        if (RolloutSettingsValidator.TelemetryProblem(host, settings) is { } problem) throw new ConfigurationException(problem);
        var path = host.TelemetryPath ?? settings.Path;
        if (!string.IsNullOrWhiteSpace(path)) return new FileTelemetrySource(path);
        return new HttpTelemetrySource(host.Http ?? new HttpClient { Timeout = TimeSpan.FromSeconds(60) },
            new HttpTelemetrySourceOptions { Url = new Uri(settings.Url!), Token = settings.Token });
    }

    /// <summary>An adapter's <see cref="ArgumentException"/> message without the " (Parameter 'options')" .NET appends: the operator needs the rule.</summary>
    internal static string Reason(ArgumentException ex) =>
        ex.ParamName is { } name ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message;
}
