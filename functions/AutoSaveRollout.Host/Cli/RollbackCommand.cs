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
/// <c>rollback --flag --from --to --reason --decision [--initiator] [--force] [--dry-run]</c>: the rollback command written into
/// every violation decision, for a human to run when the automatic call did not happen. Exactly one phase back; the decision
/// id is the flag service's <c>Idempotency-Key</c>, so running it after a successful automatic rollback changes nothing.
/// <para>
/// <c>--flag</c> must be the policy's flag and <c>--from</c> the phase in effect (the rollout state; not checked before any
/// state exists); otherwise it exits 2 naming both, unless <c>--force</c> is given, which overrides the checks and is
/// recorded in the runbook line and the state (<see cref="RolloutState.LastForcedRollback"/>). It needs only the
/// flag-service settings (<see cref="RolloutHostOptions.FlagServiceOnly"/>). <c>--dry-run</c> checks and prints, writing nothing.
/// </para>
/// </summary>
internal static class RollbackCommand
{
    public static Command Create()
    {
        var flag = new Option<string>("--flag") { Description = "feature flag (must be the policy's flag)", Required = true };
        var from = new Option<string>("--from") { Description = "phase in effect: A, B or C (must be the rollout state's phase)", Required = true };
        var to = new Option<string>("--to") { Description = "one phase back: B, A or off", Required = true };
        var reason = new Option<string>("--reason") { Description = "why, e.g. \"p95_s violation\" (with --force: why the checks are overridden)", Required = true };
        var decision = new Option<string>("--decision") { Description = "decision id (idempotency key)", Required = true };
        var initiator = new Option<string>("--initiator") { Description = "who runs it", DefaultValueFactory = _ => Environment.UserName };
        var force = new Option<bool>("--force") { Description = "roll back even though --flag or --from does not match the policy and the rollout state (recorded)" };
        var policy = CliSupport.PolicyOption();
        var dryRun = CliSupport.DryRunOption();
        dryRun.Description = "check and print what would be done; call no flag service and write nothing";
        var store = CliSupport.StoreOption(PipelineFactory.DefaultStorageRoot);
        var command = new Command("rollback", "roll the flag back one phase by hand (the command printed in incidents)")
        {
            flag, from, to, reason, decision, initiator, force, policy, dryRun, store,
        };
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var fromPhase = CliSupport.ParsePhase(parse.GetValue(from));
            if (!PhaseExtensions.TryParse(parse.GetValue(to), out var toPhase) || toPhase != fromPhase.StepBack())
                throw new ConfigurationException($"--to must be exactly one phase back from {fromPhase.ToWire()} ({fromPhase.StepBack().ToWire()})");
            var rolloutPolicy = PolicyLoader.LoadFile(parse.GetValue(policy)!);
            var isDryRun = parse.GetValue(dryRun);
            var isForced = parse.GetValue(force);
            var reasonText = parse.GetValue(reason)!;
            if (isForced && string.IsNullOrWhiteSpace(reasonText)) throw new ConfigurationException("--force needs a --reason saying why the checks are overridden");
            var time = TimeProvider.System;
            var templates = TemplateRenderer.Load();
            // Only the flag service is needed: Slack and PagerDuty are wired when configured, never required.
            await using var pipeline = CliSupport.OpenPipeline(PipelineFactory.LoadConfiguration(), new RolloutHostOptions
            {
                Storage = StorageSelection.Embedded(parse.GetValue(store)!), Time = time, DryRun = isDryRun, Policy = rolloutPolicy, Templates = templates,
                FlagServiceOnly = true,
            });
            var ports = pipeline.GetRequiredService<PipelinePorts>();
            var request = new FlagRollbackRequest(parse.GetValue(flag)!, fromPhase.ToWire(), toPhase.ToWire(), reasonText, parse.GetValue(decision)!);
            var stateStore = new JsonRecordStore<RolloutState>(ports.Blobs, StorePaths.RolloutState);
            var (current, _) = await stateStore.ReadAsync(ct);

            // The checks: the policy's flag, the phase in effect (none before any state exists). --force overrides them.
            var mismatches = new List<string>();
            if (!string.Equals(request.Flag, rolloutPolicy.Flag, StringComparison.Ordinal))
                mismatches.Add($"--flag '{request.Flag}' is not the policy's flag '{rolloutPolicy.Flag}' ({parse.GetValue(policy)})");
            if (current is not null && current.Phase != request.FromPhase)
                mismatches.Add($"--from {request.FromPhase} is not the phase in effect {current.Phase} ({StorePaths.RolloutState})");
            if (mismatches.Count > 0 && !isForced)
                throw new ConfigurationException(string.Join("; ", mismatches) + "; check the command, or pass --force with --reason to roll back anyway");
            var initiatorName = parse.GetValue(initiator) ?? "";
            var forced = isForced
                ? new ForcedRollback(request.Flag, request.FromPhase, request.ToPhase, rolloutPolicy.Flag, current?.Phase, reasonText, initiatorName,
                    request.DecisionId, time.GetUtcNow())
                : null;

            var cmd = RollbackPlan.CommandFor(RollbackPlan.DefaultCliName, request.Flag, request.FromPhase, request.ToPhase, request.Reason, request.DecisionId);
            var line = templates.Render(TemplateIds.Rollback, new Dictionary<string, string?>
            {
                ["cmd"] = cmd, ["initiator"] = initiatorName, ["metric"] = request.Reason,
            });
            if (forced is not null) line += $" [forced: {string.Join("; ", mismatches.DefaultIfEmpty("no check failed"))}]";
            if (isDryRun)
            {
                // A dry run checks and says what would happen; it calls nothing and writes nothing (no runbook line, no state).
                Console.WriteLine("[dry-run] " + line);
                Console.WriteLine("[dry-run] nothing was sent or written");
                return CliSupport.Success;
            }

            try { await ports.Flags.RollbackAsync(request, ct); }
            catch (DeliveryException ex)
            {
                Console.Error.WriteLine($"error: rollback failed: {ex.Target}: {CliSupport.OneLine(ex.Message)}");
                return 1;
            }
            await ports.Blobs.AppendAsync(StorePaths.Runbook, Encoding.UTF8.GetBytes(Runbook.Line(time.GetUtcNow(), request.DecisionId, dryRun: false, line)), ct);
            string? ended = null;
            await stateStore.UpdateAsync(s =>
            {
                var next = RolloutState.ManualRollback(s, request.FromPhase, request.ToPhase, request.DecisionId, time.GetUtcNow(), forced);
                var before = s?.Phase ?? request.FromPhase;
                ended = next.Phase != before ? before : null;
                return next; // a state already elsewhere is left as it is (without --force)
            }, ct);
            // A rollback that changed the phase ends it: its pending approvals no longer count (the audit log says so).
            if (ended is not null) await pipeline.GetRequiredService<LifecycleService>().VoidApprovalsAsync(ended, request.DecisionId, ct);
            Console.WriteLine(line);
            return CliSupport.Success;
        }));
        return command;
    }
}
