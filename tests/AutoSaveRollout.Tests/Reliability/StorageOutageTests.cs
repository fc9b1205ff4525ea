using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Host.Hosting;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Hosting;
using Xunit.Abstractions;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>
/// The long-running host's services (Collector timer, analyze and report queue workers, as <c>run</c> wires them) on
/// Azurite, with the schedule played 450× faster than real time: Azurite is stopped for several collection times and
/// started again on the same data. The pipeline must ride it out: no service dies, missed windows are back-filled in
/// order, every window is decided once and reported once, and the decisions equal an uninterrupted replay's.
/// </summary>
public sealed class StorageOutageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Fixture = "autosave_phaseA_violation.jsonl"; // 08:00–09:45, violation at 09:00 in phase A
    private static readonly DateTimeOffset FirstWindow = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset LastWindow = new(2026, 11, 20, 9, 45, 0, TimeSpan.Zero);
    private readonly AzuriteFixture _azurite = new();
    private readonly string _dir = Directory.CreateTempSubdirectory("autosave-outage-").FullName;

    public Task InitializeAsync() => _azurite.InitializeAsync();

    public async Task DisposeAsync()
    {
        await _azurite.DisposeAsync();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Storage_down_for_several_collection_times_is_ridden_out_and_missed_windows_are_back_filled()
    {
        // Late collections are expected here, so the latency gate is taken out of the comparison (thresholds 10^6 s).
        var policyPath = Path.Combine(_dir, "policy.yaml");
        File.WriteAllText(policyPath, RepoFiles.PointPolicyText()
            .Replace("collector_latency_s: 180", "collector_latency_s: 1000000").Replace("collector_latency_s: 120", "collector_latency_s: 1000000"));
        var policy = PolicyLoader.LoadFile(policyPath);
        var templates = TemplateRenderer.Load();
        var telemetry = RepoFiles.PathOf("fixtures/telemetry/" + Fixture);

        // Reference: the same input replayed without any outage.
        var referencePorts = PipelineFactory.CreatePorts(new Microsoft.Extensions.Configuration.ConfigurationBuilder().Build(),
            StorageSelection.Embedded(Path.Combine(_dir, "reference")), TimeProvider.System, dryRun: true, policy);
        var reference = (await new ReplayRunner(referencePorts, policy, templates).RunAsync(new FileTelemetrySource(telemetry),
                new ReplayOptions(Phase.A, DryRun: true, TimeSpan.Zero, new QueueProcessingOptions())))
            .ToDictionary(w => w.Manifest.WindowStart, w => w.Decision!);

        await using var peers = await FakePeers.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var log = new ListLogger();
        var clock = new AcceleratedClock(FirstWindow.AddMinutes(15).AddSeconds(1), factor: 450); // 15 min ≈ 2 s
        var ports = PipelineFactory.CreatePorts(peers.Configuration(), StorageSelection.Azure(_azurite.ConnectionString), TimeProvider.System,
            dryRun: false, policy, http);
        var collector = new Collector(ports.Blobs, ports.Queues, ports.Locks, new FileTelemetrySource(telemetry), clock,
            new CollectorOptions { LockDuration = TimeSpan.FromSeconds(15) }, log.For<Collector>());
        var analyzer = new Analyzer(ports.Blobs, ports.Queues, policy, clock, new AnalyzerOptions { InitialPhase = Phase.A }, log.For<Analyzer>());
        var reporter = new Reporter(ports.Blobs, policy, templates, ports.Slack, ports.PagerDuty, ports.Flags, clock, new ReporterOptions(), log.For<Reporter>());
        // Queue timing is real time, as on Azure; the processing lease is short so a message caught by the outage returns soon.
        var queueOptions = new QueueProcessingOptions
        {
            BatchSize = 1, MaxDequeueCount = 5, VisibilityTimeout = TimeSpan.FromSeconds(1),
            MaxPollingInterval = TimeSpan.FromSeconds(1), ProcessingLease = TimeSpan.FromSeconds(5),
        };
        BackgroundService[] services =
        [
            new CollectorTimerService(collector, ports.Blobs, CollectorTimerService.ParseSchedule(CollectorTimerService.DefaultSchedule), clock, log.For<CollectorTimerService>()),
            new QueueWorkerService(new QueueProcessor(ports.Queues, StorePaths.AnalyzeQueue, analyzer.HandleAsync, queueOptions, ports.Blobs,
                TimeProvider.System, log.CreateLogger("Analyzer.Queue"))),
            new QueueWorkerService(new QueueProcessor(ports.Queues, StorePaths.ReportQueue, reporter.HandleAsync, queueOptions, ports.Blobs,
                TimeProvider.System, log.CreateLogger("Reporter.Queue"))),
        ];
        foreach (var s in services) await s.StartAsync(CancellationToken.None);

        DateTimeOffset down, up;
        try
        {
            await WaitUntilAsync(() => DecidedAsync(ports, FirstWindow.AddMinutes(30)), TimeSpan.FromSeconds(60), "the 08:30 window to be decided", log);
            down = clock.GetUtcNow();
            await _azurite.StopAsync();
            await Task.Delay(TimeSpan.FromSeconds(5)); // ≈ 37 simulated minutes: two or three collection times pass
            await _azurite.RestartAsync();
            up = clock.GetUtcNow();
            output.WriteLine($"storage down from {down:HH:mm:ss} to {up:HH:mm:ss} (simulated)");
            await WaitUntilAsync(async () => await DecidedAsync(ports, LastWindow) && await ReportedAsync(ports, LastWindow),
                TimeSpan.FromSeconds(120), "the 09:45 window to be decided and reported", log);
            Assert.All(services, s => Assert.False(s.ExecuteTask!.IsCompleted, $"{s.GetType().Name} stopped: {s.ExecuteTask!.Exception}"));
        }
        finally
        {
            foreach (var s in services) await s.StopAsync(CancellationToken.None);
        }

        // Every window decided once, as without the outage (same id: same phase, batch and policy; same status).
        for (var w = TimeWindow.StartingAt(FirstWindow); w.Start <= LastWindow; w = w.Next)
        {
            var decision = Json.FromBytes<DecisionRecord>((await ports.Blobs.TryGetAsync(StorePaths.Decision(w)))!.Content);
            var expected = reference[w.Start];
            Assert.Equal((expected.DecisionId, expected.Status, expected.Phase), (decision.DecisionId, decision.Status, decision.Phase));
            var outbox = Json.FromBytes<Outbox>((await ports.Blobs.TryGetAsync(StorePaths.Outbox(w)))!.Content);
            Assert.All(outbox.Actions, a => Assert.Equal(ActionStatus.Done, a.Status));
        }

        // Collected in order with no gap; the windows that closed while storage was down were back-filled after it came back.
        var manifests = new List<BatchManifest>();
        await foreach (var path in ports.Blobs.ListAsync("autosave/"))
            if (path.EndsWith(".manifest.json", StringComparison.Ordinal))
                manifests.Add(Json.FromBytes<BatchManifest>((await ports.Blobs.TryGetAsync(path))!.Content));
        manifests = manifests.OrderBy(m => m.WindowStart).ToList();
        Assert.Equal(FirstWindow, manifests[0].WindowStart);
        for (var i = 1; i < manifests.Count; i++)
        {
            Assert.Equal(manifests[i - 1].WindowStart.AddMinutes(15), manifests[i].WindowStart);
            Assert.True(manifests[i].WrittenAt >= manifests[i - 1].WrittenAt, $"{manifests[i].WindowStart:HH:mm} collected before {manifests[i - 1].WindowStart:HH:mm}");
        }
        var missed = manifests.Where(m => m.WindowEnd > down && m.WindowEnd < up).ToList();
        Assert.NotEmpty(missed);
        Assert.All(missed, m => Assert.True(m.WrittenAt >= up, $"{m.WindowStart:HH:mm} written at {m.WrittenAt:HH:mm:ss}, during the outage"));
        output.WriteLine($"back-filled after the outage: {string.Join(", ", missed.Select(m => $"{m.WindowStart:HH:mm} (latency {m.CollectorLatencyS:0} s)"))}");

        // Outward effects exactly once: one incident, one rollback, one runbook line; no Slack post more than twice.
        Assert.Equal(["autosave/A/20261120T0900Z"], peers.Incidents.Select(i => i.DedupKey));
        Assert.Equal([("A", "off")], peers.Rollbacks.Select(r => (r.From, r.To)));
        Assert.Empty(peers.Conflicts);
        Assert.All(peers.SlackPosts, kv => Assert.InRange(kv.Value, 1, 2));
        Assert.Contains(peers.SlackPosts.Keys, k => k.StartsWith(FakePeers.IncidentHookPath + " 🚨 AutoSave A violation", StringComparison.Ordinal));
        var runbook = System.Text.Encoding.UTF8.GetString((await ports.Blobs.TryGetAsync(StorePaths.Runbook))!.Content);
        Assert.Single(runbook.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Null(await ports.Blobs.TryGetAsync(QueueProcessor.DeadLetterLog));

        foreach (var line in log.Lines.Where(l => !l.StartsWith("Information", StringComparison.Ordinal)).Select(l => l.Split(" | ")[0]).Distinct().Take(30))
            output.WriteLine(line);
        // The outage was seen and survived by both kinds of service.
        Assert.Contains(log.Lines, l => l.Contains("collection failed, will retry at the next occurrence", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("storage unavailable", StringComparison.Ordinal));
    }

    private static async Task<bool> DecidedAsync(PipelinePorts ports, DateTimeOffset window)
    {
        try { return await ports.Blobs.TryGetAsync(StorePaths.Decision(TimeWindow.StartingAt(window))) is not null; }
        catch (Core.Ports.StorageException) { return false; }
    }

    private static async Task<bool> ReportedAsync(PipelinePorts ports, DateTimeOffset window)
    {
        try
        {
            var blob = await ports.Blobs.TryGetAsync(StorePaths.Outbox(TimeWindow.StartingAt(window)));
            return blob is not null && Json.FromBytes<Outbox>(blob.Content).Actions.All(a => a.Status == ActionStatus.Done);
        }
        catch (Core.Ports.StorageException) { return false; }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what, ListLogger log)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
                throw new TimeoutException($"timed out waiting for {what}; log:\n{string.Join("\n", log.Lines.TakeLast(40))}");
            await Task.Delay(200);
        }
    }
}
