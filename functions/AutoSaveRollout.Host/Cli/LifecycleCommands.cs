using System.CommandLine;
using System.Globalization;
using System.Text;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// The commands people use in the phase lifecycle: <c>approve</c> (SRE, Dev Lead, Governance), <c>review-failure</c>
/// (the Analyzer owner), <c>waive</c> (Governance) and <c>rca</c> (whoever writes the RCA). Each works on the embedded
/// store (<c>--store</c>) or Azure (<c>--storage azure</c>) like <c>run</c>; bad input exits 2 with the reason.
/// </summary>
internal static class LifecycleCommands
{
    /// <summary>
    /// <c>approve --phase &lt;B|C|complete&gt; --role &lt;sre|dev_lead|governance&gt; --approver &lt;name&gt; [--evidence &lt;url&gt;]</c>:
    /// records the approval in the audit log, then runs one lifecycle tick, which moves the phase when it is eligible, every
    /// required role has approved in this phase and the evidence checks pass (calling the flag service and Slack, so it needs
    /// their settings). With <c>--dry-run</c> it checks the approval and reports what the next tick would do were it recorded,
    /// writing nothing (a dry-run approval never counts). Prints the approval and where the move stands.
    /// </summary>
    public static Command Approve()
    {
        var target = new Option<string>("--phase") { Description = "the move approved: B (from A), C (from B) or complete (C signed off)", Required = true };
        var role = new Option<string>("--role") { Description = "sre, dev_lead or governance", Required = true };
        var approver = new Option<string>("--approver") { Description = "who approves (name or e-mail)", Required = true };
        var evidence = new Option<string?>("--evidence") { Description = "link to the evidence (PR comment, checklist); absolute http(s) URL" };
        var common = new Common();
        var dryRun = CliSupport.DryRunOption();
        var command = new Command("approve", "approve the next phase move (recorded in the audit log; the move follows when eligible and checks pass)")
        {
            target, role, approver, evidence, dryRun,
        };
        common.AddTo(command);
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var isDryRun = parse.GetValue(dryRun);
            await using var pipeline = common.Open(parse, isDryRun, storageOnly: false);
            var lifecycle = pipeline.GetRequiredService<LifecycleService>();
            var request = new ApprovalRequest(parse.GetValue(target)!, parse.GetValue(role)!, parse.GetValue(approver)!, parse.GetValue(evidence));
            if (isDryRun)
            {
                // A dry run checks the approval and says what the next tick would do if it were recorded; it writes nothing,
                // so a dry-run approval never counts and never moves a live rollout's phase.
                var (preview, attempt) = await lifecycle.PreviewApprovalAsync(request, ct);
                Console.WriteLine($"[dry-run] not recorded: {preview.Role}={preview.Actor} for {preview.Phase} → {preview.Target}");
                Console.WriteLine(Describe(attempt));
                return CliSupport.Success;
            }
            var entry = await lifecycle.ApproveAsync(request, ct);
            Console.WriteLine($"approved: {entry.Role}={entry.Actor} for {entry.Phase} → {entry.Target} at {Stamp(entry.At)} ({entry.Id})");
            Console.WriteLine(Describe(await lifecycle.TickAsync(ct)));
            return CliSupport.Success;
        }));
        return command;
    }

    /// <summary>
    /// <c>review-failure --window &lt;start&gt; --reviewer &lt;name&gt; --cause &lt;text&gt; --task &lt;link or id&gt;</c>: records that a
    /// collector retry failure was reviewed (design section 9), which the evidence check requires before the next move.
    /// </summary>
    public static Command ReviewFailure()
    {
        var window = new Option<string>("--window") { Description = "window start of the retry failure, e.g. 2026-11-21T10:15Z (UTC)", Required = true };
        var reviewer = new Option<string>("--reviewer") { Description = "who reviewed it", Required = true };
        var cause = new Option<string>("--cause") { Description = "the failure cause found", Required = true };
        var task = new Option<string>("--task") { Description = "the recurrence-prevention task (link or id)", Required = true };
        var common = new Common();
        var command = new Command("review-failure", "record the review of a collector retry failure (retry_failures.jsonl)") { window, reviewer, cause, task };
        common.AddTo(command);
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var start = ParseWindow(parse.GetValue(window)!);
            await using var pipeline = common.Open(parse, dryRun: true, storageOnly: true);
            var lifecycle = pipeline.GetRequiredService<LifecycleService>();
            var entry = await lifecycle.ReviewRetryFailureAsync(start, parse.GetValue(reviewer)!, parse.GetValue(cause)!, parse.GetValue(task)!, ct);
            Console.WriteLine($"reviewed: retry failure of window {TimeWindow.StartingAt(start)} by {entry.Actor} at {Stamp(entry.At)} ({entry.Id})");
            return CliSupport.Success;
        }));
        return command;
    }

    /// <summary>
    /// <c>waive --incident &lt;id&gt; --approver &lt;name&gt; --reason &lt;text&gt;</c>: Governance waives the 15-minute acknowledgement
    /// check of one incident (an acknowledgement that came late cannot be fixed afterwards); recorded in the audit log.
    /// </summary>
    public static Command Waive()
    {
        var incident = new Option<string>("--incident") { Description = "incident id (ours, the dedup key, the PagerDuty id or #number)", Required = true };
        var approver = new Option<string>("--approver") { Description = "the Governance member waiving it", Required = true };
        var reason = new Option<string>("--reason") { Description = "why the late acknowledgement is accepted", Required = true };
        var common = new Common();
        var command = new Command("waive", "Governance: waive the acknowledgement check of one incident") { incident, approver, reason };
        common.AddTo(command);
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            await using var pipeline = common.Open(parse, dryRun: true, storageOnly: true);
            var lifecycle = pipeline.GetRequiredService<LifecycleService>();
            var entry = await lifecycle.WaiveAcknowledgementAsync(parse.GetValue(incident)!, parse.GetValue(approver)!, parse.GetValue(reason)!, ct);
            Console.WriteLine($"waived: {entry.Check} of {string.Join(", ", entry.Incidents ?? [])} by {entry.Actor} at {Stamp(entry.At)} ({entry.Id})");
            return CliSupport.Success;
        }));
        return command;
    }

    /// <summary>
    /// <c>rca --file &lt;markdown&gt; [--date yyyy-MM-dd]</c>: stores an RCA as <c>reports/rca/&lt;date&gt;.md</c> (default: today, UTC),
    /// appended after a separator when that day already has one. The RCA must name an incident of the ledger (one of its ids,
    /// dedup key or PagerDuty id/number, as the RCA search matches them); a file that names none exits 2 and stores nothing.
    /// </summary>
    public static Command Rca()
    {
        var file = new Option<string>("--file") { Description = "the RCA (markdown); it must name the incident id", Required = true };
        var date = new Option<string?>("--date") { Description = "the RCA's date, yyyy-MM-dd (default: today, UTC)" };
        var common = new Common();
        var command = new Command("rca", "store a root-cause analysis as reports/rca/<date>.md") { file, date };
        common.AddTo(command);
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var path = parse.GetValue(file)!;
            var text = await File.ReadAllTextAsync(path, ct);
            if (string.IsNullOrWhiteSpace(text)) throw new InvalidDataException($"{path} is empty");
            var day = parse.GetValue(date) is { } d
                ? DateOnly.TryParseExact(d, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed) ? parsed
                    : throw new FormatException($"--date must be yyyy-MM-dd (got '{d}')")
                : DateOnly.FromDateTime(DateTime.UtcNow);
            await using var pipeline = common.Open(parse, dryRun: true, storageOnly: true);
            var ports = pipeline.GetRequiredService<PipelinePorts>();
            // The RCA must name an incident of the ledger (an id the lifecycle's RCA search looks for), or it covers nothing.
            var (ledger, _) = await new JsonRecordStore<IncidentLedger>(ports.Blobs, StorePaths.Incidents).ReadAsync(ct);
            var incidents = ledger?.Incidents ?? [];
            if (incidents.Count == 0)
                throw new InvalidDataException($"{path} names no incident: the ledger ({StorePaths.Incidents}) holds none to write an RCA for");
            if (!incidents.Any(i => i.Names().Any(n => text.Contains(n, StringComparison.Ordinal))))
                throw new InvalidDataException($"{path} names no incident of the ledger ({StorePaths.Incidents}); name its id, e.g. " +
                                               string.Join(", ", incidents.OrderByDescending(i => i.TriggeredAt).Take(3).Select(i => i.Id)));
            var blob = StorePaths.Rca(day);
            var existing = await ports.Blobs.TryGetAsync(blob, ct);
            var content = existing is null ? text : Encoding.UTF8.GetString(existing.Content).TrimEnd('\n') + "\n\n---\n\n" + text;
            await ports.Blobs.PutAsync(blob, Encoding.UTF8.GetBytes(content),
                existing is null ? Core.Ports.WriteCondition.IfNotExists : Core.Ports.WriteCondition.IfMatch(existing.ETag), ct);
            Console.WriteLine($"stored: {blob}{(existing is null ? "" : " (appended)")}");
            return CliSupport.Success;
        }));
        return command;
    }

    private static string Describe(MoveAttempt a) => a.Outcome switch
    {
        MoveOutcome.Moved => $"moved: {a.Phase} → {a.Target} ({a.MoveId})",
        MoveOutcome.Ready => $"[dry-run] move {a.Phase} → {a.Target}: ready with this approval; approve without --dry-run to record it (the next tick then moves the phase)",
        MoveOutcome.Blocked => $"move {a.Phase} → {a.Target} blocked:\n" + string.Join("\n", a.Reasons.Select(r => "  - " + r)),
        MoveOutcome.AwaitingApprovals => $"move {a.Phase} → {a.Target}: waiting for approval by {string.Join(", ", a.MissingRoles)}",
        MoveOutcome.NotEligible => $"move {a.Phase} → {a.Target}: the phase is not eligible yet (see status)" +
                                   (a.MissingRoles.Count > 0 ? $"; approval still needed from {string.Join(", ", a.MissingRoles)}" : ""),
        _ => "move: none possible now (rollout off or complete, or a tick is in progress; the pipeline retries every minute)",
    };

    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Parses a window start (<c>2026-11-21T10:15Z</c> or RFC 3339); it must be aligned to 15 minutes.</summary>
    internal static DateTimeOffset ParseWindow(string text)
    {
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var t))
            throw new FormatException($"--window must be a UTC time such as 2026-11-21T10:15Z (got '{text}')");
        var w = TimeWindow.Containing(t);
        if (w.Start != t) throw new FormatException($"--window must be a window start (a multiple of 15 minutes), e.g. {Stamp(w.Start)}");
        return t;
    }

    // Options every lifecycle command shares: policy and storage.
    private sealed class Common
    {
        private readonly Option<string> _policy = CliSupport.PolicyOption();
        private readonly Option<string> _store = CliSupport.StoreOption(PipelineFactory.DefaultStorageRoot);
        private readonly Option<string> _storage = CliSupport.StorageKindOption();
        private readonly Option<string?> _connection = CliSupport.ConnectionOption();

        public void AddTo(Command command)
        {
            command.Add(_policy);
            command.Add(_store);
            command.Add(_storage);
            command.Add(_connection);
        }

        /// <summary>The pipeline on the selected storage (storage-only, or sending unless <paramref name="dryRun"/>); dispose it when done.</summary>
        public ServiceProvider Open(ParseResult parse, bool dryRun, bool storageOnly)
        {
            var config = PipelineFactory.LoadConfiguration();
            var policy = PolicyLoader.LoadFile(parse.GetValue(_policy)!);
            var storage = PipelineFactory.SelectStorage(config, parse.GetValue(_storage), parse.GetValue(_store)!, parse.GetValue(_connection));
            if (storage.Kind == StorageKind.Embedded && !Directory.Exists(storage.Root))
                throw new DirectoryNotFoundException($"no pipeline data in {Path.GetFullPath(storage.Root!)} (run `run` or `replay` first, or pass --store)");
            return CliSupport.OpenPipeline(config, new RolloutHostOptions
            {
                Storage = storage, Time = TimeProvider.System, DryRun = dryRun, StorageOnly = storageOnly, Policy = policy,
                Templates = TemplateRenderer.Load(config["Reporter:TemplatesPath"]),
            });
        }
    }
}
