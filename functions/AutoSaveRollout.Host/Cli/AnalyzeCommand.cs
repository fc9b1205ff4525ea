using System.CommandLine;
using System.Text.Json;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Host.Hosting;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// <c>analyze --batch &lt;jsonl&gt; --phase &lt;A|B|C&gt; [--dry-run]</c>: the design's simulation mode. The whole file is one batch
/// (dated by its earliest accepted event's window), run through Collector, Analyzer and Reporter in dry-run: prints the
/// decision record and the messages it would send. It never sends anything (<c>--dry-run</c> is implied).
/// </summary>
internal static class AnalyzeCommand
{
    public const string DefaultStore = ".rollout/analyze";

    public static Command Create()
    {
        var batch = new Option<string>("--batch") { Description = "telemetry JSONL file analysed as one batch", Required = true };
        var phase = CliSupport.PhaseOption(required: true, "phase to judge the batch in: A, B or C");
        var policy = CliSupport.PolicyOption();
        var dryRun = CliSupport.DryRunOption();
        dryRun.Description = "accepted for compatibility with the design's command line; analyze never sends anything";
        var store = CliSupport.StoreOption(DefaultStore);
        var command = new Command("analyze", "analyse one batch in dry-run (simulation mode) and print the decision") { batch, phase, policy, dryRun, store };
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var p = CliSupport.ParsePhase(parse.GetValue(phase));
            var rolloutPolicy = PolicyLoader.LoadFile(parse.GetValue(policy)!);
            var templates = TemplateRenderer.Load(Environment.GetEnvironmentVariable("Reporter__TemplatesPath"));
            var file = parse.GetValue(batch)!;
            if (!File.Exists(file)) throw new FileNotFoundException($"batch file not found: {file}");
            var source = new BatchFileSource(file);
            var coverage = source.ScanCoverage(ct) ?? throw new InvalidDataException($"no accepted telemetry event in {file}");

            var root = parse.GetValue(store)!;
            // Analyze writes (and clears) only its own store, never a live pipeline's given by --store.
            CliSupport.ClaimScratchStore(root, "analyze");
            Directory.Delete(root, recursive: true);
            CliSupport.ClaimScratchStore(root, "analyze");
            await using var pipeline = CliSupport.OpenPipeline(PipelineFactory.LoadConfiguration(), new RolloutHostOptions
            {
                Storage = StorageSelection.Embedded(root), Time = TimeProvider.System, DryRun = true, Policy = rolloutPolicy, Templates = templates,
            });
            var ports = pipeline.GetRequiredService<PipelinePorts>();
            var window = (await new ReplayRunner(ports, rolloutPolicy, templates).RunWindowsAsync(source, [coverage.First],
                new ReplayOptions(p, DryRun: true, TimeSpan.Zero, HostJsonSettings.Defaults.Queues),
                new CollectorOptions { AcceptAnyTimestamp = true, BlockBytes = 4 << 20 }, ct)).Single();
            if (coverage.First != coverage.Last)
                Console.Error.WriteLine($"note: {file} spans windows {coverage.First} to {coverage.Last}; analysed as one batch");
            Console.WriteLine(JsonSerializer.Serialize(window.Decision, Json.Pretty));
            ReplayCommand.Print(CliSupport.CreateConsole(), [window], ports.StorageDescription, dryRun: true);
            // Dry-run actions never fail, but a dead-lettered message (a bad batch, a storage fault) still exits 3.
            return ActionOutcomes.Report(await ActionOutcomes.FailuresAsync(ports.Blobs, ct));
        }));
        return command;
    }
}
