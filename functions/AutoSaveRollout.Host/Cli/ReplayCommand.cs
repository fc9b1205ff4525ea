using System.CommandLine;
using System.Globalization;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Host.Hosting;
using AutoSaveRollout.Host.Replay;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using AutoSaveRollout.Core.Outboxes;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// <c>replay --telemetry &lt;file|folder&gt; --phase &lt;A|B|C&gt; [--policy] [--dry-run] [--json] [--simulate-latency] [--store] [--resume]</c>.
/// Progress goes to standard error (<see cref="ReplayProgressView"/>), the result table to standard output.
/// </summary>
internal static class ReplayCommand
{
    public const string DefaultStore = ".rollout/replay";

    public static Command Create()
    {
        var telemetry = new Option<string>("--telemetry") { Description = "telemetry JSONL file or folder", Required = true };
        var phase = CliSupport.PhaseOption(required: true, "phase in effect at the first window: A, B or C");
        var policy = CliSupport.PolicyOption();
        var dryRun = CliSupport.DryRunOption();
        var json = new Option<string?>("--json") { Description = "also write one JSON line per window to this file" };
        var latency = new Option<double>("--simulate-latency") { Description = "seconds added to every batch's collector latency", DefaultValueFactory = _ => 0 };
        var store = CliSupport.StoreOption(DefaultStore + " (cleared at start unless --resume)");
        store.DefaultValueFactory = _ => DefaultStore;
        var hostJson = new Option<string>("--host-json") { Description = "queue settings (maxDequeueCount)", DefaultValueFactory = _ => "host.json" };
        var storageKind = CliSupport.StorageKindOption();
        var connection = CliSupport.ConnectionOption();
        var reset = new Option<bool>("--reset") { Description = "with --storage azure: empty the pipeline's containers and queues first (replay needs an empty store)" };
        var resume = new Option<bool>("--resume")
        {
            Description = "keep the store and continue an interrupted replay of the same input: finished windows and actions are skipped, unfinished ones completed",
        };

        var command = new Command("replay", "replay telemetry through Collector, Analyzer and Reporter on a simulated clock")
        {
            telemetry, phase, policy, dryRun, json, latency, store, hostJson, storageKind, connection, reset, resume,
        };
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var startPhase = CliSupport.ParsePhase(parse.GetValue(phase));
            var simulated = parse.GetValue(latency);
            if (simulated < 0 || !double.IsFinite(simulated)) throw new ConfigurationException("--simulate-latency must be ≥ 0 seconds");
            var rolloutPolicy = PolicyLoader.LoadFile(parse.GetValue(policy)!);
            var templates = TemplateRenderer.Load(Environment.GetEnvironmentVariable("Reporter__TemplatesPath"));
            var config = PipelineFactory.LoadConfiguration();
            var isDryRun = parse.GetValue(dryRun);
            var root = parse.GetValue(store)!;
            var source = new FileTelemetrySource(parse.GetValue(telemetry)!);
            var hostSettings = HostJsonSettings.Load(parse.GetValue(hostJson)!);
            var storage = PipelineFactory.SelectStorage(config, parse.GetValue(storageKind), root, parse.GetValue(connection));
            var isResume = parse.GetValue(resume);
            if (isResume && parse.GetValue(reset)) throw new ConfigurationException("--resume keeps the store and --reset empties it; pass one of them");

            if (storage.Kind == StorageKind.Embedded)
            {
                // Replay writes (and clears) only its own store, never a live pipeline's given by --store.
                CliSupport.ClaimScratchStore(root, "replay");
                if (!isResume)
                {
                    Directory.Delete(root, recursive: true);
                    CliSupport.ClaimScratchStore(root, "replay");
                }
            }
            await using var pipeline = CliSupport.OpenPipeline(config, new RolloutHostOptions
            {
                Storage = storage, Time = TimeProvider.System, DryRun = isDryRun, Policy = rolloutPolicy, Templates = templates,
                MessageEncoding = hostSettings.MessageEncoding,
            });
            var ports = pipeline.GetRequiredService<PipelinePorts>();
            if (!isResume && storage.Kind == StorageKind.Azure && !await ReplayStore.IsEmptyAsync(ports, ct))
            {
                if (!parse.GetValue(reset))
                    throw new ConfigurationException("the storage account already holds pipeline data and replay needs an empty store; pass --reset to delete the autosave, decisions, reports and state blobs and the pipeline queues");
                Console.Error.WriteLine($"reset: deleted {await ReplayStore.ResetAsync(ports, ct)} blob(s) and emptied the pipeline queues");
            }
            var queueOptions = hostSettings.Queues;
            var runner = new ReplayRunner(ports, rolloutPolicy, templates);
            var results = await ReplayProgressView.RunAsync(progress => runner.RunAsync(source,
                new ReplayOptions(startPhase, isDryRun, TimeSpan.FromSeconds(simulated), queueOptions) { Resume = isResume, Progress = progress }, ct));

            if (parse.GetValue(json) is { } jsonPath)
                await File.WriteAllLinesAsync(jsonPath, results.Select(ReplayRunner.ToJsonLine), ct);
            Print(CliSupport.CreateConsole(), results, ports.StorageDescription, isDryRun);
            // Exit 3 when any outward action ended failed or dead-lettered, after one line naming each.
            return ActionOutcomes.Report(await ActionOutcomes.FailuresAsync(ports.Blobs, ct));
        }));
        return command;
    }

    internal static void Print(IAnsiConsole console, IReadOnlyList<ReplayWindow> results, string storage, bool dryRun)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var c in new[] { "window (UTC)", "phase", "p95 s", "err %", "drift", "lat s", "status", "action" }) table.AddColumn(CliSupport.Column(c, new[] { "window (UTC)" }));
        foreach (var w in results)
        {
            var d = w.Decision;
            string Num(string metric, string format) => CliSupport.Cell(d?.Metrics[metric].Value, format);
            var status = d?.Status.Value ?? "dead-lettered";
            var colour = status switch { "violation" => "red", "warn" => "yellow", "ok" => "green", _ => "grey" };
            table.AddRow(
                Markup.Escape(w.Manifest.WindowStart.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)),
                Markup.Escape(d?.Phase ?? "?"),
                Num(MetricNames.P95, "F3"), Num(MetricNames.ErrorRate, "F2"), Num(MetricNames.HistoryDrift, "0.##"),
                Num(MetricNames.CollectorLatency, "0.#"),
                $"[{colour}]{Markup.Escape(status)}[/]",
                Markup.Escape(ReplayRunner.ActionSummary(w)));
        }
        console.Write(table);

        var messages = results.SelectMany(w => w.Outbox?.Actions.Select(a => (w, a)) ?? []).ToList();
        if (messages.Count > 0)
        {
            console.WriteLine();
            console.MarkupLine(dryRun ? "[bold]Messages (dry-run: rendered and recorded, nothing sent)[/]" : "[bold]Messages[/]");
            foreach (var (w, a) in messages)
            {
                var target = a.Kind switch
                {
                    var k when k == ActionKind.Slack => "slack " + a.Target,
                    var k when k == ActionKind.PagerDuty => "pagerduty trigger dedup_key=" + PagerDutyTriggers.DedupKey(w.Decision!),
                    var k when k == ActionKind.Flag => "flag service",
                    _ => a.Target,
                };
                Console.Out.WriteLine($"  {w.Manifest.WindowStart.UtcDateTime:HH:mm} [{a.Status}] {target}: {a.Text}");
            }
        }

        var counts = results.GroupBy(w => w.Decision?.Status ?? "dead_lettered").Select(g => $"{g.Count()} {g.Key}");
        var rejected = results.Sum(w => w.Manifest.Rejected);
        console.WriteLine();
        console.WriteLine($"{results.Count} windows: {string.Join(", ", counts)}; rejected lines: {rejected}; duplicates: {results.Sum(w => w.Manifest.Duplicates)}");
        console.WriteLine($"records: {storage}: decisions/, autosave/ (batches, manifests, rejected lines), reports/monitoring/ (dashboard.json, runbook.log, notifications.jsonl)");
    }
}
