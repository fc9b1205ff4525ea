using System.CommandLine;
using System.Text;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Telemetry;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Core.Lifecycle;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// <c>rollback --flag --from --to --reason --decision [--initiator] [--dry-run]</c>: the rollback command written into every
/// violation decision, for a human to run when the automatic call did not happen. Exactly one phase back; the decision id is
/// the flag service's <c>Idempotency-Key</c>, so running it after a successful automatic rollback changes nothing.
/// </summary>
internal static class RollbackCommand
{
    public static Command Create()
    {
        var flag = new Option<string>("--flag") { Description = "feature flag", Required = true };
        var from = new Option<string>("--from") { Description = "phase in effect: A, B or C", Required = true };
        var to = new Option<string>("--to") { Description = "one phase back: B, A or off", Required = true };
        var reason = new Option<string>("--reason") { Description = "why, e.g. \"p95_s violation\"", Required = true };
        var decision = new Option<string>("--decision") { Description = "decision id (idempotency key)", Required = true };
        var initiator = new Option<string>("--initiator") { Description = "who runs it", DefaultValueFactory = _ => Environment.UserName };
        var policy = CliSupport.PolicyOption();
        var dryRun = CliSupport.DryRunOption();
        var store = CliSupport.StoreOption(PipelineFactory.DefaultStorageRoot);
        var command = new Command("rollback", "roll the flag back one phase by hand (the command printed in incidents)")
        {
            flag, from, to, reason, decision, initiator, policy, dryRun, store,
        };
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var fromPhase = CliSupport.ParsePhase(parse.GetValue(from));
            if (!PhaseExtensions.TryParse(parse.GetValue(to), out var toPhase) || toPhase != fromPhase.StepBack())
                throw new ConfigurationException($"--to must be exactly one phase back from {fromPhase.ToWire()} ({fromPhase.StepBack().ToWire()})");
            var rolloutPolicy = PolicyLoader.LoadFile(parse.GetValue(policy)!);
            var isDryRun = parse.GetValue(dryRun);
            var time = TimeProvider.System;
            var templates = TemplateRenderer.Load();
            await using var pipeline = CliSupport.OpenPipeline(PipelineFactory.LoadConfiguration(), new RolloutHostOptions
            {
                Storage = StorageSelection.Embedded(parse.GetValue(store)!), Time = time, DryRun = isDryRun, Policy = rolloutPolicy, Templates = templates,
            });
            var ports = pipeline.GetRequiredService<PipelinePorts>();
            var request = new FlagRollbackRequest(parse.GetValue(flag)!, fromPhase.ToWire(), toPhase.ToWire(), parse.GetValue(reason)!, parse.GetValue(decision)!);
            if (!isDryRun)
            {
                try { await ports.Flags.RollbackAsync(request, ct); }
                catch (DeliveryException ex)
                {
                    Console.Error.WriteLine($"error: rollback failed: {ex.Target}: {CliSupport.OneLine(ex.Message)}");
                    return 1;
                }
            }
            var cmd = RollbackPlan.CommandFor(RollbackPlan.DefaultCliName, request.Flag, request.FromPhase, request.ToPhase, request.Reason, request.DecisionId);
            var line = templates.Render(TemplateIds.Rollback, new Dictionary<string, string?>
            {
                ["cmd"] = cmd, ["initiator"] = parse.GetValue(initiator), ["metric"] = request.Reason,
            });
            await ports.Blobs.AppendAsync(StorePaths.Runbook,
                Encoding.UTF8.GetBytes(Runbook.Line(time.GetUtcNow(), request.DecisionId, isDryRun, line)), ct);
            var stepped = false;
            await new JsonRecordStore<RolloutState>(ports.Blobs, StorePaths.RolloutState).UpdateAsync(s =>
            {
                var next = RolloutState.ManualRollback(s, request.FromPhase, request.ToPhase, request.DecisionId, time.GetUtcNow());
                stepped = !ReferenceEquals(next, s); // a state already elsewhere is left as it is
                return next;
            }, ct);
            // A rollback that changed the state ends the phase: its pending approvals no longer count (the audit log says so).
            if (stepped) await pipeline.GetRequiredService<LifecycleService>().VoidApprovalsAsync(request.FromPhase, request.DecisionId, ct);
            Console.WriteLine((isDryRun ? "[dry-run] " : "") + line);
            return CliSupport.Success;
        }));
        return command;
    }
}
