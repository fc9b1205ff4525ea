using System.CommandLine;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Host.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using NCrontab;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// <c>run</c>: the long-running standalone host. The Collector timer (NCRONTAB, default every 15 minutes, UTC) and the
/// analyze / report queue workers run until Ctrl-C or SIGTERM, which stop them gracefully.
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
        var command = new Command("run", "run the pipeline: Collector timer plus analyze and report queue workers (Ctrl-C stops)")
        {
            telemetry, phase, policy, dryRun, store, schedule, hostJson, storageKind, connection,
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
            var ports = PipelineFactory.CreatePorts(config, storage, time, isDryRun, rolloutPolicy, messageEncoding: settings.MessageEncoding);
            var source = PipelineFactory.CreateSource(config, parse.GetValue(telemetry));

            var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder();
            builder.Logging.ClearProviders();
            builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ssZ "; o.UseUtcTimestamp = true; });
            var s = builder.Services;
            s.AddSingleton(time);
            s.AddSingleton(cron);
            s.AddSingleton(sp => new Collector(ports.Blobs, ports.Queues, ports.Locks, source, time, new CollectorOptions(), sp.GetRequiredService<ILogger<Collector>>()));
            s.AddSingleton(sp => new Analyzer(ports.Blobs, ports.Queues, rolloutPolicy, time, new AnalyzerOptions { InitialPhase = initial }, sp.GetRequiredService<ILogger<Analyzer>>()));
            s.AddSingleton(sp => new Reporter(ports.Blobs, rolloutPolicy, templates, ports.Slack, ports.PagerDuty, ports.Flags, time,
                new ReporterOptions { DryRun = isDryRun }, sp.GetRequiredService<ILogger<Reporter>>()));
            s.AddHostedService<CollectorTimerService>();
            // The Analyzer handles one message at a time so that windows are judged in order (phase steps depend on it).
            // Registered with AddSingleton: AddHostedService would keep only the first of two QueueWorkerService
            // registrations (it deduplicates by implementation type), and the report queue would never be read.
            s.AddSingleton<IHostedService>(sp => new QueueWorkerService(new QueueProcessor(ports.Queues, StorePaths.AnalyzeQueue, sp.GetRequiredService<Analyzer>().HandleAsync,
                settings.Queues with { BatchSize = 1 }, ports.Blobs, time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Analyzer.Queue"))));
            s.AddSingleton<IHostedService>(sp => new QueueWorkerService(new QueueProcessor(ports.Queues, StorePaths.ReportQueue, sp.GetRequiredService<Reporter>().HandleAsync,
                settings.Queues with { BatchSize = 1 }, ports.Blobs, time, sp.GetRequiredService<ILoggerFactory>().CreateLogger("Reporter.Queue"))));
            using var host = builder.Build();
            host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("run").LogInformation(
                "AutoSave Rollout Monitor: storage {Storage}, telemetry {Source}, schedule \"{Schedule}\" (UTC){DryRun}",
                ports.StorageDescription, source.Description, expression, isDryRun ? ", dry-run" : "");
            await host.RunAsync(ct);
            return CliSupport.Success;
        }));
        return command;
    }
}
