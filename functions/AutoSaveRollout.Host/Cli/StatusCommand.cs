using System.CommandLine;
using System.Globalization;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using Spectre.Console;

namespace AutoSaveRollout.Host.Cli;

/// <summary><c>status [--store]</c>: phase in effect, rollback_active and the latest decisions.</summary>
internal static class StatusCommand
{
    public static Command Create()
    {
        var store = CliSupport.StoreOption(".rollout");
        var command = new Command("status", "show the phase in effect, rollback_active and the last decisions") { store };
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var root = parse.GetValue(store)!;
            if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"no pipeline data in {Path.GetFullPath(root)} (run `run` or `replay` first, or pass --store)");
            var blobs = new FileBlobStore(AutoSaveRollout.Hosting.PipelineFactory.BlobRoot(root));
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
            if (dashboard?.SloCard is { } card)
            {
                console.WriteLine($"latest window: {card.Window} phase {card.Phase} status {card.Status} " +
                                  $"p95={F(card.P95, "F3")}s err={F(card.ErrRate, "F2")}% drift={F(card.Drift, "0.##")} latency={F(card.CollectorLatency, "0.#")}s");
            }
            var table = new Table().Border(TableBorder.Simple);
            foreach (var c in new[] { "window (UTC)", "phase", "status", "p95 s", "err %", "violations", "decision" }) table.AddColumn(c);
            foreach (var d in dashboard?.RecentDecisions ?? [])
            {
                table.AddRow(d.WindowStart.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture), d.Phase, d.Status,
                    F(d.P95, "F3"), F(d.ErrRate, "F2"), Markup.Escape(string.Join(",", d.Violations)), Markup.Escape(d.DecisionId));
            }
            console.Write(table);
            return CliSupport.Success;
        }));
        return command;
    }

    private static string F(double? v, string format) => CliSupport.Cell(v, format);
}
