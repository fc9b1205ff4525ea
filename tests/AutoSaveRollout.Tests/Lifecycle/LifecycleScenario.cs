using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Configuration;
using AutoSaveRollout.Core.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Tests.Lifecycle;

/// <summary>
/// Drives the whole pipeline (Collector → Analyzer → Reporter → lifecycle) window by window on a simulated clock against
/// real local listeners: Slack (one webhook per channel), the flag service, and <see cref="FakePagerDuty"/> (Events v2 and
/// the REST API). Storage is the embedded folder. Each window carries 60 saves: 500 ms (compliant) or 5 s (a P95 violation
/// in every phase) for the windows listed in <see cref="Violations"/>.
/// </summary>
internal sealed class LifecycleScenario : IAsyncDisposable
{
    public const string RolloutHook = "/services/T0/B1/rollout-s3cr3t";
    public const string IncidentHook = "/services/T0/B2/incident-autosave-s3cr3t";
    public const string EscalationHook = "/services/T0/B3/incident-s3cr3t";
    public const string FlagToken = "flag-token-s3cr3t";

    private readonly QueueProcessor _analyze;
    private readonly QueueProcessor _report;
    private readonly Collector _collector;
    private readonly ServiceProvider _pipeline;

    private LifecycleScenario(DateTimeOffset start, RecordingServer slack, RecordingServer flags, FakePagerDuty pagerDuty, SimulatedClock clock,
        StorageSelection? storage)
    {
        Clock = clock;
        Slack = slack;
        Flags = flags;
        PagerDuty = pagerDuty;
        Next = TimeWindow.StartingAt(start);
        Root = Directory.CreateTempSubdirectory("autosave-lifecycle-").FullName;
        Policy = PolicyLoader.LoadFile(RepoFiles.PointPolicy);
        Templates = TemplateRenderer.Load();
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Slack:Webhooks:autosave_rollout"] = slack.Url(RolloutHook).ToString(),
            ["Slack:Webhooks:incident_autosave"] = slack.Url(IncidentHook).ToString(),
            ["Slack:Webhooks:incident"] = slack.Url(EscalationHook).ToString(),
            ["FlagService:BaseUrl"] = flags.BaseUri.ToString(),
            ["FlagService:Token"] = FlagToken,
        }.Concat(pagerDuty.Settings())).Build();
        // The adapters run on the system clock (Azure request dates, lock leases), the stages on the simulated one, as in replay.
        _pipeline = new ServiceCollection().AddRolloutPipeline(config, new RolloutHostOptions
        {
            Storage = storage ?? StorageSelection.Embedded(Root), Time = clock, PortTime = TimeProvider.System, Policy = Policy, Templates = Templates,
            TelemetrySource = new ScriptedSource(this), Collector = new CollectorOptions(),
        }).BuildServiceProvider();
        Ports = _pipeline.ValidateRolloutPipeline().GetRequiredService<PipelinePorts>();
        Lifecycle = _pipeline.GetRequiredService<LifecycleService>();
        _collector = _pipeline.GetRequiredService<Collector>();
        var analyzer = _pipeline.GetRequiredService<Analyzer>();
        var reporter = _pipeline.GetRequiredService<Reporter>();
        var queue = new QueueProcessingOptions { VisibilityTimeout = TimeSpan.Zero };
        _analyze = new QueueProcessor(Ports.Queues, StorePaths.AnalyzeQueue, (m, c) => analyzer.HandleAsync(m, c), queue, Ports.Blobs, clock);
        _report = new QueueProcessor(Ports.Queues, StorePaths.ReportQueue, (m, c) => reporter.HandleAsync(m, c), queue, Ports.Blobs, clock);
    }

    public SimulatedClock Clock { get; }
    public RecordingServer Slack { get; }
    public RecordingServer Flags { get; }
    public FakePagerDuty PagerDuty { get; }
    public string Root { get; }
    public RolloutPolicy Policy { get; }
    public TemplateRenderer Templates { get; }
    public PipelinePorts Ports { get; }
    public LifecycleService Lifecycle { get; }

    /// <summary>The next window to run.</summary>
    public TimeWindow Next { get; private set; }

    /// <summary>Window starts whose saves take 5 s (P95 violation).</summary>
    public HashSet<DateTimeOffset> Violations { get; } = [];

    /// <summary>Every decision made so far, in window order.</summary>
    public List<DecisionRecord> Decisions { get; } = [];

    /// <summary>
    /// Starts the listeners; the rollout begins in phase A at <paramref name="start"/> (a window start). Storage is a new
    /// embedded folder, or <paramref name="storage"/> (Azure: emptied first).
    /// </summary>
    public static async Task<LifecycleScenario> StartAsync(DateTimeOffset start, StorageSelection? storage = null)
    {
        var clock = new SimulatedClock(start);
        var slack = await RecordingServer.StartAsync();
        foreach (var hook in new[] { RolloutHook, IncidentHook, EscalationHook }) slack.UseSlackDefaults(hook);
        var flags = await RecordingServer.StartAsync();
        flags.UseFlagServiceDefaults();
        var s = new LifecycleScenario(start, slack, flags, await FakePagerDuty.StartAsync(clock), clock, storage);
        if (storage is { Kind: StorageKind.Azure }) await Host.Replay.ReplayStore.ResetAsync(s.Ports);
        await new JsonRecordStore<RolloutState>(s.Ports.Blobs, StorePaths.RolloutState)
            .UpdateAsync(_ => RolloutState.Start("A", start));
        return s;
    }

    /// <summary>
    /// Runs <paramref name="count"/> windows: each is collected 30 s after it closes, then analysed and reported (the
    /// Reporter runs a lifecycle tick after every report).
    /// </summary>
    public async Task RunWindowsAsync(int count)
    {
        for (var i = 0; i < count; i++)
        {
            var window = Next;
            Clock.Set(window.End + TimeSpan.FromSeconds(30));
            await _collector.CollectWindowAsync(window);
            await _analyze.DrainAsync();
            await _report.DrainAsync();
            Decisions.Add(Json.FromBytes<DecisionRecord>((await Ports.Blobs.TryGetAsync(StorePaths.Decision(window)))!.Content));
            Next = window.Next;
        }
    }

    /// <summary>Runs every window collected (30 s after its end) at or before <paramref name="instant"/>.</summary>
    public async Task RunUntilAsync(DateTimeOffset instant)
    {
        while (Next.End + TimeSpan.FromSeconds(30) <= instant) await RunWindowsAsync(1);
    }

    /// <summary>Moves the clock <paramref name="minutes"/> forward (between windows, before the next one closes).</summary>
    public void Wait(double minutes) => Clock.Advance(TimeSpan.FromMinutes(minutes));

    /// <summary>Approves with the lifecycle (what <c>approve</c> does) and runs the tick that follows it.</summary>
    public async Task<MoveAttempt> ApproveAsync(string target, string role, string approver, string? evidence = null)
    {
        await Lifecycle.ApproveAsync(new ApprovalRequest(target, role, approver, evidence));
        return await Lifecycle.TickAsync();
    }

    public async Task<RolloutState> StateAsync() => (await new JsonRecordStore<RolloutState>(Ports.Blobs, StorePaths.RolloutState).ReadAsync()).Value!;

    public async Task<IncidentLedger> LedgerAsync() =>
        (await new JsonRecordStore<IncidentLedger>(Ports.Blobs, StorePaths.Incidents).ReadAsync()).Value ?? new IncidentLedger();

    public Task<IReadOnlyList<AuditEntry>> AuditAsync() => new AuditLog(Ports.Blobs, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).ReadAsync();

    /// <summary>Every Slack post in order: (webhook path, text).</summary>
    public IReadOnlyList<(string Hook, string Text)> SlackPosts() =>
        Slack.Requests.Select(r => (r.Path, (string)((JsonObject)r.JsonBody()!)["text"]!)).ToList();

    /// <summary>Slack posts other than the per-window <c>autosave-ok</c> and <c>autosave-warn</c> ones.</summary>
    public IReadOnlyList<(string Hook, string Text)> LifecyclePosts() =>
        SlackPosts().Where(p => !p.Text.StartsWith("✅", StringComparison.Ordinal) && !p.Text.StartsWith("⚠️", StringComparison.Ordinal)).ToList();

    /// <summary>Flag-service calls in order: (path, Idempotency-Key, body).</summary>
    public IReadOnlyList<(string Path, string? Key, JsonNode Body)> FlagCalls() =>
        Flags.Requests.Select(r => (r.Path, r.Header("Idempotency-Key"), r.JsonBody()!)).ToList();

    /// <summary>Writes an RCA file as the <c>rca</c> command stores it.</summary>
    public Task WriteRcaAsync(DateOnly date, string text) =>
        Ports.Blobs.PutAsync(StorePaths.Rca(date), Encoding.UTF8.GetBytes(text), WriteCondition.None);

    /// <summary>Every secret the scenario configures.</summary>
    public IReadOnlyList<string> Secrets =>
        [FlagToken, "rollout-s3cr3t", "incident-autosave-s3cr3t", "incident-s3cr3t", FakePagerDuty.ApiToken, FakePagerDuty.RoutingKey];

    /// <summary>Every file the pipeline stored, concatenated.</summary>
    public string AllStoredText() =>
        string.Join("\n", Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories).Select(File.ReadAllText));

    public async ValueTask DisposeAsync()
    {
        await _pipeline.DisposeAsync();
        await Slack.DisposeAsync();
        await Flags.DisposeAsync();
        await PagerDuty.DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }

    // 60 saves per window, one every 15 s from second 1: 500 ms, or 5 s in a violation window.
    private sealed class ScriptedSource(LifecycleScenario scenario) : ITelemetrySource
    {
        public string Description => "scripted";

        public async IAsyncEnumerable<RawLine> ReadWindowAsync(TimeWindow window, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.CompletedTask;
            var ms = scenario.Violations.Contains(window.Start) ? 5000 : 500;
            for (var i = 0; i < 60; i++)
            {
                var ts = Core.Telemetry.Rfc3339.Format(window.Start.AddSeconds(1 + i * 15));
                yield return new RawLine("scripted", i + 1,
                    $"{{\"event_id\":\"evt-{window.Id}-{i}\",\"ts\":\"{ts}\",\"event\":\"autosave.save.completed\",\"duration_ms\":{ms}}}");
            }
        }
    }
}
