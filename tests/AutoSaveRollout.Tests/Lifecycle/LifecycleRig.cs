using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.FlagService;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Adapters.Slack;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Lifecycle;

/// <summary>
/// Seeds a pipeline store the way the Analyzer and Reporter leave it (state, a decision with its JSONL batch, the dashboard,
/// the incident ledger, retry failures), so lifecycle pieces can be tested without running the whole pipeline. Works on any
/// <see cref="IBlobStore"/>; paths and record shapes are the production ones (<see cref="StorePaths"/>).
/// </summary>
internal static class StoreSeed
{
    public const string Flag = "autosave";

    /// <summary>A normalised batch: 96 completed saves of 1,000 ms and 4 errors → P95 1.000 s, error rate 4.00%.</summary>
    public static byte[] Batch(string extraLine = "")
    {
        var sb = new StringBuilder();
        for (var i = 0; i < 96; i++) sb.Append($"{{\"event\":\"autosave.save.completed\",\"event_id\":\"c{i}\",\"duration_ms\":1000}}\n");
        for (var i = 0; i < 4; i++) sb.Append($"{{\"event\":\"autosave.save.error\",\"event_id\":\"e{i}\",\"retryable\":true}}\n");
        if (extraLine.Length > 0) sb.Append(extraLine).Append('\n');
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    public static string DecisionId(TimeWindow w, string phase) => $"dec-{w.Id}-{phase}-0123456789ab";

    /// <summary>Writes the batch, the decision and a dashboard showing it (P95 1.0 s, error rate 4%).</summary>
    public static async Task DecisionAndDashboardAsync(IBlobStore blobs, TimeWindow w, string phase, DateTimeOffset now, double shownP95 = 1.0,
        double shownErr = 4.0)
    {
        var batch = Batch();
        await blobs.PutAsync(StorePaths.Batch(w), batch, WriteCondition.None);
        var id = DecisionId(w, phase);
        var decision = new DecisionRecord
        {
            DecisionId = id, Flag = Flag, WindowStart = w.Start, WindowEnd = w.End, Phase = phase, Status = "ok", RollbackRequired = false,
            Metrics = new Dictionary<string, DecisionMetric>
            {
                [MetricNames.P95] = new(1.0, 2.5, 2.0, "ok"),
                [MetricNames.ErrorRate] = new(4.0, 5.0, 4.0, "ok"),
            },
            Violations = [], Samples = new DecisionSamples(96, 4, 4, 0, 1), NextPhase = phase, CollectorDelayed = false, PolicySha256 = "p",
            BatchSha256 = Convert.ToHexStringLower(SHA256.HashData(batch)), BatchPath = StorePaths.Batch(w), DecidedAt = w.End.AddMinutes(1),
        };
        await blobs.PutAsync(StorePaths.Decision(w), Json.ToBytes(decision), WriteCondition.None);
        await DashboardAsync(blobs, w, phase, now, shownP95, shownErr, shownP95, shownErr);
    }

    /// <summary>(Re)writes the dashboard: the SLO card and the one recent decision may show different values.</summary>
    public static Task DashboardAsync(IBlobStore blobs, TimeWindow w, string phase, DateTimeOffset now, double cardP95, double cardErr,
        double recentP95, double recentErr) =>
        new JsonRecordStore<Dashboard>(blobs, StorePaths.Dashboard).UpdateAsync(_ => new Dashboard
        {
            Flag = Flag, Phase = phase, RollbackActive = false,
            SloCard = new SloCard(phase, w.ToString(), w.Start, cardP95, cardErr, 0, 10, "ok", DecisionId(w, phase)),
            RecentDecisions = [new DashboardDecision(DecisionId(w, phase), w.Start, phase, "ok", false, [], recentP95, recentErr)],
            UpdatedAt = now,
        });

    /// <summary>The rollout state in <paramref name="phase"/> since <paramref name="since"/>, eligible (or not) as of window <paramref name="asOf"/>.</summary>
    public static Task StateAsync(IBlobStore blobs, RolloutPolicy policy, string phase, DateTimeOffset since, TimeWindow asOf, bool eligible = true,
        DateTimeOffset? lastMoveAt = null, DateTimeOffset? completedAt = null, DateTimeOffset? lastDecided = null)
    {
        PhaseExtensions.TryParse(phase, out var p);
        var rule = p == Phase.Off ? null : policy.For(p).Promotion;
        var promotion = rule is null ? null : new PromotionStatus
        {
            Phase = phase, Target = PromotionEligibility.TargetOf(p)!, Eligible = eligible, Progress = eligible ? rule.RequiredWindows : 1,
            Required = rule.RequiredWindows, Since = asOf.Start, Approvers = ApproverRoleNames.Names(rule.Approvers), AsOfWindowStart = asOf.Start,
        };
        return new JsonRecordStore<RolloutState>(blobs, StorePaths.RolloutState).UpdateAsync(_ => StoredStates.Make(phase, phaseSince: since, lastMoveAt: lastMoveAt, completedAt: completedAt, promotion: promotion,
            lastDecidedWindowStart: lastDecided ?? asOf.Start, updatedAt: since));
    }

    public static async Task<RolloutState> ReadStateAsync(IBlobStore blobs) =>
        (await new JsonRecordStore<RolloutState>(blobs, StorePaths.RolloutState).ReadAsync()).Value!;

    public static Task RetryFailureAsync(IBlobStore blobs, TimeWindow w, DateTimeOffset gaveUpAt) =>
        blobs.AppendJsonLineAsync(StorePaths.RetryFailures, new CollectorFailure
        {
            WindowStart = w.Start, WindowEnd = w.End, Source = "telemetry.jsonl", Attempts = 5,
            Errors = [new CollectorAttemptError(gaveUpAt, "IOException: unreachable", true)], FirstAttemptAt = gaveUpAt.AddMinutes(-8),
            GaveUpAt = gaveUpAt, Reason = "retries_exhausted",
        });

    /// <summary>An SLO-violation incident as the Reporter records it (our id = the decision id, dedup key flag/phase/window).</summary>
    public static IncidentRecord Incident(TimeWindow w, string phase, DateTimeOffset triggeredAt, bool dryRun = false) => new()
    {
        Id = DecisionId(w, phase), DedupKey = $"{Flag}/{phase}/{w.Id}", Kind = IncidentKinds.SloViolation, Phase = phase, WindowStart = w.Start,
        TriggeredAt = triggeredAt, Metric = "p95_s",
        Command = RollbackPlan.CommandFor(RollbackPlan.DefaultCliName, Flag, phase, "off", "p95_s violation", DecisionId(w, phase)), DryRun = dryRun,
    };

    public static Task LedgerAsync(IBlobStore blobs, params IncidentRecord[] incidents) =>
        new JsonRecordStore<IncidentLedger>(blobs, StorePaths.Incidents).UpdateAsync(_ => new IncidentLedger { Incidents = incidents });

    public static async Task<IReadOnlyList<IncidentRecord>> ReadLedgerAsync(IBlobStore blobs) =>
        (await new JsonRecordStore<IncidentLedger>(blobs, StorePaths.Incidents).ReadAsync()).Value?.Incidents ?? [];
}

/// <summary>
/// A <see cref="LifecycleService"/> on the embedded store in a temporary folder, with real HTTP clients (no retry
/// decorators, so a failure is recorded at once) talking to Kestrel fakes: Slack (one webhook path per channel), the flag
/// service and <see cref="FakePagerDuty"/> (Events and REST API), all on a <see cref="ManualTimeProvider"/>.
/// </summary>
internal sealed class LifecycleRig : IAsyncDisposable
{
    public const string FlagToken = "flag-t0ken-s3cret";
    public const string RolloutHook = "/services/T1/B1/rollout";
    public const string IncidentHook = "/services/T1/B2/incident-autosave";
    public const string EscalationHook = "/services/T1/B3/incident";

    /// <summary>2026-11-20T10:00Z, the clock's start.</summary>
    public static readonly DateTimeOffset Start = new(2026, 11, 20, 10, 0, 0, TimeSpan.Zero);

    /// <summary>The phase began a day before the clock's start.</summary>
    public static readonly DateTimeOffset PhaseStart = Start.AddDays(-1);

    /// <summary>The latest decided window: 09:30–09:45Z.</summary>
    public static readonly TimeWindow Window = TimeWindow.StartingAt(Start.AddMinutes(-30));

    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private LifecycleRig(string root, ManualTimeProvider time, RecordingServer slack, RecordingServer flags, FakePagerDuty pagerDuty)
    {
        Root = root;
        Time = time;
        Slack = slack;
        Flags = flags;
        PagerDuty = pagerDuty;
        Blobs = new FileBlobStore(PipelineFactory.BlobRoot(root));
        Locks = new FileDistributedLock(root, time);
        Policy = PolicyLoader.LoadFile(RepoFiles.PointPolicy);
        Templates = TemplateRenderer.Load();
        Service = Create();
    }

    public string Root { get; }
    public ManualTimeProvider Time { get; }
    public RecordingServer Slack { get; }
    public RecordingServer Flags { get; }
    public FakePagerDuty PagerDuty { get; }
    public FileBlobStore Blobs { get; }
    public FileDistributedLock Locks { get; }
    public RolloutPolicy Policy { get; }
    public TemplateRenderer Templates { get; }
    public LifecycleService Service { get; }

    public static async Task<LifecycleRig> StartAsync()
    {
        var time = new ManualTimeProvider(Start);
        var rig = new LifecycleRig(Directory.CreateTempSubdirectory("autosave-lifecycle-").FullName, time, await RecordingServer.StartAsync(),
            await RecordingServer.StartAsync(), await FakePagerDuty.StartAsync(time));
        rig.Slack.UseSlackDefaults(RolloutHook);
        rig.Slack.UseSlackDefaults(IncidentHook);
        rig.Slack.UseSlackDefaults(EscalationHook);
        rig.Flags.UseFlagServiceDefaults();
        return rig;
    }

    /// <summary>A service on the same store and fakes (e.g. another process's), optionally without the PagerDuty REST API or in dry-run.</summary>
    public LifecycleService Create(bool withPagerDuty = true, bool dryRun = false)
    {
        var slack = new SlackWebhookNotifier(_http, new SlackOptions
        {
            Webhooks =
            {
                ["autosave_rollout"] = Slack.Url(RolloutHook).ToString(),
                ["incident_autosave"] = Slack.Url(IncidentHook).ToString(),
                ["incident"] = Slack.Url(EscalationHook).ToString(),
            },
        }, Time);
        var flags = new RollbackFlagServiceClient(_http, new FlagServiceOptions { BaseUrl = Flags.BaseUri, Token = FlagToken }, Time);
        var pagerDuty = withPagerDuty ? new PagerDutyRestClient(_http, PagerDuty.Options(), Time) : null;
        // The composition's stage factory on these raw adapters (no retry decorators; the lifecycle sends no Events API call).
        var ports = new PipelinePorts(Blobs, new FileQueueFactory(Root, Time), Locks, slack, DisabledNotifiers.Instance, flags, "rig") { PagerDutyIncidents = pagerDuty };
        return ports.CreateLifecycle(Policy, Templates, Time, dryRun);
    }

    /// <summary>Phase <paramref name="phase"/> since <see cref="PhaseStart"/>, eligible as of <see cref="Window"/>, with a dashboard that checks out.</summary>
    public async Task SeedEligibleAsync(string phase = "A", bool eligible = true, DateTimeOffset? lastMoveAt = null)
    {
        await StoreSeed.StateAsync(Blobs, Policy, phase, PhaseStart, Window, eligible, lastMoveAt);
        await StoreSeed.DecisionAndDashboardAsync(Blobs, Window, phase, Time.GetUtcNow());
    }

    public Task<AuditEntry> ApproveAsync(string target, string role, string approver, string? evidence = null) =>
        Service.ApproveAsync(new ApprovalRequest(target, role, approver, evidence));

    public Task<IReadOnlyList<AuditEntry>> AuditAsync() => new AuditLog(Blobs, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).ReadAsync();

    /// <summary>Opens a PagerDuty incident under <paramref name="dedupKey"/> through the Events API v2, at the clock's time.</summary>
    public async Task TriggerAsync(string dedupKey)
    {
        var body = new JsonObject
        {
            ["routing_key"] = FakePagerDuty.RoutingKey, ["event_action"] = "trigger", ["dedup_key"] = dedupKey,
            ["payload"] = new JsonObject { ["summary"] = "AutoSave SLO violation", ["source"] = "autosave-rollout-monitor", ["severity"] = "critical" },
        };
        using var response = await _http.PostAsync(PagerDuty.EventsUrl, new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        Assert.Equal(202, (int)response.StatusCode);
    }

    /// <summary>Texts posted to a webhook path, in order.</summary>
    public IReadOnlyList<string> Posts(string hook) => Slack.RequestsTo(hook).Select(r => (string)r.JsonBody()!["text"]!).ToList();

    public string? ReadText(string path)
    {
        var file = Path.Combine(PipelineFactory.BlobRoot(Root), path.Replace('/', Path.DirectorySeparatorChar));
        return File.Exists(file) ? File.ReadAllText(file) : null;
    }

    public async ValueTask DisposeAsync()
    {
        await Slack.DisposeAsync();
        await Flags.DisposeAsync();
        await PagerDuty.DisposeAsync();
        _http.Dispose();
        try { Directory.Delete(Root, true); } catch (IOException) { }
    }
}
