using System.CommandLine;
using System.Globalization;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// <c>status [--store &lt;dir&gt; | --storage azure [--connection &lt;cs&gt;]] [--policy]</c>: phase in effect, rollback_active, the
/// lifecycle and the latest decisions, from the embedded store or Azure Storage like every other command.
/// </summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var store = CliSupport.StoreOption(".rollout");
        var policy = CliSupport.PolicyOption();
        var storageKind = CliSupport.StorageKindOption();
        var connection = CliSupport.ConnectionOption();
        var command = new Command("status", "show the phase in effect, rollback_active, the lifecycle and the last decisions")
        {
            store, policy, storageKind, connection,
        };
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var config = PipelineFactory.LoadConfiguration();
            var storage = PipelineFactory.SelectStorage(config, parse.GetValue(storageKind), parse.GetValue(store)!, parse.GetValue(connection));
            if (storage.Kind == StorageKind.Embedded && !Directory.Exists(storage.Root))
                throw new DirectoryNotFoundException($"no pipeline data in {Path.GetFullPath(storage.Root!)} (run `run` or `replay` first, or pass --store)");
            await using var pipeline = CliSupport.OpenPipeline(config, new RolloutHostOptions
            {
                Storage = storage, Time = TimeProvider.System, StorageOnly = true, DryRun = true,
            });
            var ports = pipeline.GetRequiredService<PipelinePorts>();
            var blobs = ports.Blobs;
            var (state, _) = await new JsonRecordStore<RolloutState>(blobs, StorePaths.RolloutState).ReadAsync(ct);
            var (dashboard, _) = await new JsonRecordStore<Dashboard>(blobs, StorePaths.Dashboard).ReadAsync(ct);
            var console = CliSupport.CreateConsole();
            console.WriteLine($"phase: {state?.Phase ?? "(no state yet)"}");
            console.WriteLine($"rollback_active: {(state?.RollbackActive ?? false ? "true" : "false")}" +
                              (state?.RollbackDecisionId is { } id && state.RollbackActive ? $" (decision {id})" : ""));
            if (state?.Promotion is { } promo)
            {
                var since = promo.Since is { } t ? $" since {t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)} UTC" : "";
                console.WriteLine($"promotion: {promo.Phase} → {promo.Target} {(promo.Eligible ? "eligible" : "not yet eligible")} " +
                                  $"({promo.Progress}/{promo.Required} compliant windows{since}; approvers: {string.Join(", ", promo.Approvers)})");
            }
            // The lifecycle as of now (approvals, reviews and waivers recorded since the last tick included) when the policy is
            // at hand; else as the last tick wrote it to the dashboard.
            var life = File.Exists(parse.GetValue(policy))
                ? await ports.CreateLifecycle(PolicyLoader.LoadFile(parse.GetValue(policy)!), TemplateRenderer.Load(), TimeProvider.System, dryRun: true)
                    .GetViewAsync(ct)
                : dashboard?.Lifecycle;
            if (life is not null) WriteLifecycle(console, life);
            if (dashboard?.SloCard is { } card)
            {
                console.WriteLine($"latest window: {card.Window} phase {card.Phase} status {card.Status} " +
                                  $"p95={F(card.P95, "F3")}s err={F(card.ErrRate, "F2")}% drift={F(card.Drift, "0.##")} latency={F(card.CollectorLatency, "0.#")}s");
                if (card.Evidence is { } evidence) console.WriteLine($"gate evidence ({card.Gate?.Mode} {card.Gate?.Confidence.ToString(CultureInfo.InvariantCulture)}): {evidence}"); // gates (issue 11)
            }
            var table = new Table().Border(TableBorder.Simple);
            foreach (var c in new[] { "window (UTC)", "phase", "status", "p95 s", "err %", "violations", "decision" }) table.AddColumn(CliSupport.Column(c, new[] { "window (UTC)", "decision" }));
            foreach (var d in dashboard?.RecentDecisions ?? [])
            {
                table.AddRow(d.WindowStart.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), d.Phase, d.Status.ToString(),
                    F(d.P95, "F3"), F(d.ErrRate, "F2"), Markup.Escape(string.Join(",", d.Violations)), Markup.Escape(d.DecisionId));
            }
            console.Write(table);
            return CliSupport.Success;
        }));
        return command;
    }

    private static string F(double? v, string format) => CliSupport.Cell(v, format);

    private static string T(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC" : "–";

    // The lifecycle section the last tick wrote to the dashboard: approvals, what the move waits for, incidents, cadence.
    private static void WriteLifecycle(IAnsiConsole console, AutoSaveRollout.Core.Reporting.LifecycleView life)
    {
        console.WriteLine($"phase since: {T(life.PhaseSince)}" + (life.CompletedAt is { } done ? $"; rollout complete (signed off {T(done)})" : ""));
        if (life.Target is { } target)
        {
            var approvals = life.Approvals.Count == 0 ? "none" : string.Join(", ", life.Approvals.Select(a => $"{a.Role}={a.Approver} ({T(a.At)})"));
            console.WriteLine($"approvals for {life.Phase} → {target}: {approvals}" +
                              (life.MissingRoles.Count > 0 ? $"; still needed: {string.Join(", ", life.MissingRoles)}" : ""));
        }
        if (life.BlockedReasons is { Count: > 0 } reasons)
        {
            console.WriteLine("move blocked by evidence checks:");
            foreach (var r in reasons) console.WriteLine("  - " + r);
        }
        foreach (var i in life.OpenIncidents)
            console.WriteLine($"incident {i.Id} (phase {i.Phase}, triggered {T(i.TriggeredAt)}): " +
                              $"{(i.DryRun ? "dry-run (nobody paged)" : i.RespondedAt is { } ack ? $"acknowledged {T(ack)}" : "not acknowledged")}" +
                              $"{(i.EscalatedAt is { } esc ? $", escalated {T(esc)}" : "")}; " +
                              $"{(i.RcaOverdue ? "RCA overdue (phase stepped back)" : $"RCA due {T(i.RcaDueAt)}")}");
        if (life.FastCollectionUntil is { } until) console.WriteLine($"collector: every 5 minutes until {T(until)} (after a rollback)");
    }
}
