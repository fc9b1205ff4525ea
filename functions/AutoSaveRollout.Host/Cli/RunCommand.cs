using System.CommandLine;
using AutoSaveRollout.Core.Observability;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Hosting.Metrics;
using AutoSaveRollout.Host.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NCrontab;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// <c>run</c>: the long-running standalone host. The Collector timer (NCRONTAB, default every 15 minutes, UTC; every 5
/// minutes for 30 minutes after a rollback, see <see cref="CollectorCadence"/>) and the
/// analyze / report queue workers run until Ctrl-C or SIGTERM, which stop them gracefully. With <c>--metrics-port</c> (or
/// <c>Metrics:Port</c>) the pipeline's metrics are served in the Prometheus text format at
/// <c>http://127.0.0.1:{port}/metrics</c> (see <see cref="MetricsEndpoint"/>); the status gauges are re-read after every
/// Analyzer and Reporter run and every 30 s (<see cref="RolloutGaugeRefresher"/>).
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var telemetry = new Option<string?>("--telemetry") { Description = "telemetry JSONL file or folder (else Telemetry:Path or Telemetry:Url)" };
        var phase = CliSupport.PhaseOption(required: false, "phase in effect when no state exists yet (default A)");
        var policy = CliSupport.PolicyOption();
        var dryRun = CliSupport.DryRunOption();
        var store = CliSupport.StoreOption(PipelineFactory.DefaultStorageRoot);
        var schedule = new Option<string?>("--schedule") { Description = $"NCRONTAB schedule (else CollectorSchedule, default \"{CollectorTimerService.DefaultSchedule}\")" };
        var hostJson = new Option<string>("--host-json") { Description = "queue settings", DefaultValueFactory = _ => "host.json" };
        var storageKind = CliSupport.StorageKindOption();
        var connection = CliSupport.ConnectionOption();
        var metricsPort = new Option<int?>("--metrics-port")
        {
            Description = "serve Prometheus metrics at http://127.0.0.1:<port>/metrics (else Metrics:Port; off when neither is set; 0 = any free port)",
        };
        var command = new Command("run", "run the pipeline: Collector timer plus analyze and report queue workers (Ctrl-C stops)")
        {
            telemetry, phase, policy, dryRun, store, schedule, hostJson, storageKind, connection, metricsPort,
        };
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var config = PipelineFactory.LoadConfiguration();
            var rolloutPolicy = PolicyLoader.LoadFile(parse.GetValue(policy)!);
            var templates = TemplateRenderer.Load(config["Reporter:TemplatesPath"]);
            var initial = parse.GetValue(phase) is { } ph ? CliSupport.ParsePhase(ph) : Phase.A;
            var isDryRun = parse.GetValue(dryRun);
            var settings = HostJsonSettings.Load(parse.GetValue(hostJson)!);
            var expression = parse.GetValue(schedule) ?? config["CollectorSchedule"] ?? CollectorTimerService.DefaultSchedule;
            CrontabSchedule cron;
            try { cron = CollectorTimerService.ParseSchedule(expression); }
            catch (CrontabException ex) { throw new ConfigurationException($"invalid collector schedule '{expression}': {CliSupport.OneLine(ex.Message)}"); }

            var time = TimeProvider.System;
            var storage = PipelineFactory.SelectStorage(config, parse.GetValue(storageKind), parse.GetValue(store)!, parse.GetValue(connection));
            // A dry run records its simulated decisions and outboxes: only in a store of its own, never a live pipeline's,
            // whose windows would then count as decided (on Azure, point --connection at a scratch account).
            if (isDryRun && storage.Kind == StorageKind.Embedded) CliSupport.ClaimScratchStore(storage.Root!, "run --dry-run");
            using var metrics = new PipelineMetrics(time);

            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ssZ "; o.UseUtcTimestamp = true; });
            var s = builder.Services;
            s.AddRolloutPipeline(config, new RolloutHostOptions
            {
                Storage = storage, Time = time, DryRun = isDryRun, Policy = rolloutPolicy, Templates = templates, InitialPhase = initial,
                MessageEncoding = settings.MessageEncoding, TelemetryPath = parse.GetValue(telemetry), RequiresTelemetry = true,
                DecoratePorts = p => p.WithMetrics(metrics),
            });
            var port = MetricsPort(parse.GetValue(metricsPort), config);
            if (port is not null) s.AddStatusGauges(metrics); // read storage for the gauges only when someone can scrape them
            s.AddSingleton<IHostedService>(sp => new LifecycleTimerService(sp.GetRequiredService<LifecycleService>(), time,
                sp.GetRequiredService<ILoggerFactory>().CreateLogger("Lifecycle.Timer")));
            s.AddSingleton<IHostedService>(sp => new CollectorTimerService(sp.GetRequiredService<Collector>(), sp.GetRequiredService<PipelinePorts>().Blobs, cron, time,
                sp.GetRequiredService<ILogger<CollectorTimerService>>(), metrics));
            // The Analyzer handles one message at a time so that windows are judged in order (phase steps depend on it).
            // Registered as plain IHostedService singletons: AddHostedService(factory) uses TryAddEnumerable, which keeps only
            // the first factory of the same type, so the report worker would silently never start.
            s.AddSingleton<IHostedService>(sp => QueueWorker(sp, StorePaths.AnalyzeQueue, MeteredPipeline.AnalyzerHandler(sp.GetRequiredService<Analyzer>(), metrics,
                sp.GetService<RolloutGaugeReader>()),
                "Analyzer.Queue"));
            s.AddSingleton<IHostedService>(sp => QueueWorker(sp, StorePaths.ReportQueue, MeteredPipeline.ReporterHandler(sp.GetRequiredService<Reporter>(), metrics,
                sp.GetService<RolloutGaugeReader>()),
                "Reporter.Queue"));
            using var host = builder.Build();
            // Settings are checked before anything starts: a bad one exits 2 with one line.
            var ports = host.Services.ValidateRolloutPipeline().GetRequiredService<PipelinePorts>();
            var source = host.Services.GetRequiredService<ITelemetrySource>();

            QueueWorkerService QueueWorker(IServiceProvider sp, string queue, Func<string, CancellationToken, Task> handler, string category)
            {
                var p = sp.GetRequiredService<PipelinePorts>();
                return new QueueWorkerService(new QueueProcessor(p.Queues, queue, handler, settings.Queues with { BatchSize = 1 }, p.Blobs, time,
                    sp.GetRequiredService<ILoggerFactory>().CreateLogger(category), metrics.RecordDeadLetter));
            }
            var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("run");
            log.LogInformation(
                "AutoSave Rollout Monitor: storage {Storage}, telemetry {Source}, schedule \"{Schedule}\" (UTC){DryRun}",
                ports.StorageDescription, source.Description, expression, isDryRun ? ", dry-run" : "");

            // The exporter listens from before the first measurement; the endpoint binds before the workers start.
            await using var endpoint = port is { } listenPort ? await MetricsEndpoint.StartAsync(listenPort, metrics.Meter, ct) : null;
            if (endpoint is not null) log.LogInformation("metrics at {Url}", endpoint.Url);
            await host.RunAsync(ct);
            return CliSupport.Success;
        }));
        return command;
    }

    /// <summary><c>--metrics-port</c>, else the <c>Metrics:Port</c> setting, else null (no endpoint).</summary>
    internal static int? MetricsPort(int? option, Microsoft.Extensions.Configuration.IConfiguration config)
    {
        if (option is { } p) return p;
        if (config["Metrics:Port"] is not { Length: > 0 } text) return null;
        return int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            ? port
            : throw new ConfigurationException($"Metrics:Port must be a port number (got '{text}')");
    }
}
