using System.Diagnostics;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.EndToEnd;
using AutoSaveRollout.Tests.Functions.Rpc;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Xunit.Abstractions;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Functions;

/// <summary>
/// The built Azure Functions worker, run as the Functions host runs it, against <see cref="FunctionsTestHost"/> on
/// Azurite, with Kestrel listeners for Slack, PagerDuty and the flag service.
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class FunctionsWorkerTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    private const string Fixture = "autosave_phaseA_violation.jsonl";

    /// <summary>Flex Consumption's app-initialization limit.</summary>
    private static readonly TimeSpan FlexStartLimit = TimeSpan.FromSeconds(30);

    private Dictionary<string, string> DryRunSettings() => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["Reporter__DryRun"] = "true",
        ["Analyzer__InitialPhase"] = "A",
        ["Telemetry__Path"] = RepoFiles.PathOf("fixtures/telemetry/" + Fixture),
        ["CollectorSchedule"] = "0 */5 * * * *",
        ["LifecycleSchedule"] = "0 */5 * * * *",
    };

    [Fact]
    public async Task The_worker_starts_reports_its_four_functions_and_loads_them_within_the_Flex_limit()
    {
        var started = Stopwatch.StartNew();
        await using var host = await FunctionsTestHost.StartAsync(DryRunSettings());
        var first = await host.InvokeTimerAsync("Lifecycle");

        Assert.Equal(StatusResult.Types.Status.Success, first.Result.Status);
        Assert.Equal(["Analyzer", "Collector", "Lifecycle", "Reporter"], host.Functions.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("queueTrigger", host.Functions["Analyzer"].Bindings["message"].Type);
        Assert.Equal("timerTrigger", host.Functions["Collector"].Bindings["timer"].Type);
        var firstInvocation = host.SinceStart;
        output.WriteLine($"cold start: StartStream {host.ConnectedAfter.TotalMilliseconds:F0} ms, WorkerInitResponse {host.InitializedAfter.TotalMilliseconds:F0} ms, " +
                         $"functions loaded {host.LoadedAfter.TotalMilliseconds:F0} ms, first invocation done {firstInvocation.TotalMilliseconds:F0} ms");
        Assert.True(firstInvocation < FlexStartLimit, $"first invocation after {firstInvocation}");
    }

    [Fact]
    public async Task A_missing_setting_stops_the_worker_at_start_with_one_line_naming_it()
    {
        var settings = DryRunSettings();
        settings.Remove("AzureWebJobsStorage");

        var ex = await Assert.ThrowsAsync<WorkerExitedException>(() => FunctionsTestHost.StartAsync(settings));

        Assert.NotEqual(0, ex.ExitCode);
        var line = Assert.Single(ex.Output.Split('\n'), l => l.Contains("configuration:", StringComparison.Ordinal));
        Assert.Contains("AzureWebJobsStorage", line);
    }

    [Fact]
    public async Task A_throwing_function_fails_its_invocation_and_the_worker_keeps_serving()
    {
        await using var host = await FunctionsTestHost.StartAsync(DryRunSettings());

        var failed = await host.InvokeQueueAsync("Analyzer", "not json", dequeueCount: 1);
        var next = await host.InvokeTimerAsync("Lifecycle");

        Assert.Equal(StatusResult.Types.Status.Failure, failed.Result.Status);
        Assert.Contains("JsonException", failed.Result.Exception.Message + failed.Result.Exception.Type + failed.Result.Exception.StackTrace);
        Assert.Equal(StatusResult.Types.Status.Success, next.Result.Status);
        Assert.False(host.HasExited);
    }

    [Fact]
    public async Task The_last_delivery_writes_our_dead_letter_record_and_dlq_list_shows_it_with_the_runtimes_poison_copy()
    {
        await using var h = await PipelineHarness.StartAsync(storage: StorageSelection.Azure(azurite.ConnectionString));
        await ReplayStore.ResetAsync(h.Ports);
        await using var host = await FunctionsTestHost.StartAsync(DryRunSettings());
        var maxDequeueCount = HostJsonSettings.Load(RepoFiles.PathOf("host.json")).Queues.MaxDequeueCount;
        const string text = """{"type":"batch.collected","window_start":"not-a-time"}""";
        var queue = h.Ports.Queues.GetQueue(StorePaths.AnalyzeQueue);
        await queue.CreateIfNotExistsAsync();
        await queue.SendAsync(text);

        // The runtime's part: deliver until maxDequeueCount, then copy to <queue>-poison and delete the original.
        var listener = new RuntimeQueueListener(h.Ports.Queues, host, maxDequeueCount);
        var outcomes = new List<StatusResult.Types.Status>();
        for (var i = 0; i < maxDequeueCount; i++) outcomes.Add((await listener.DeliverOneAsync(StorePaths.AnalyzeQueue, "Analyzer"))!.Result.Status);

        Assert.All(outcomes, s => Assert.Equal(StatusResult.Types.Status.Failure, s));
        var records = await h.Ports.Blobs.ReadJsonLinesAsync<DeadLetterRecord>(QueueProcessor.DeadLetterLog);
        var record = Assert.Single(records);
        Assert.Equal(maxDequeueCount, record!.DequeueCount);
        Assert.Equal(StorePaths.AnalyzeQueue, record.Queue);
        Assert.Equal(text, record.Text);
        Assert.True(record.Permanent);
        var dead = Assert.Single(await new DeadLetterService(h.Ports.Queues, h.Ports.Blobs, TimeProvider.System).ListAsync());
        Assert.Equal(text, dead.Text);
        Assert.Equal(record, dead.Record);
        Assert.Equal(maxDequeueCount, dead.DequeueCount);
        Assert.NotEqual(DeadLetter.UnknownError, dead.LastError);
    }

    /// <summary>
    /// Collector → Analyzer → Reporter invocations through the worker, window by window, with the pipeline clock at each
    /// window's end (the replay's simulated clock; <c>AutoSave__ClockFile</c>), give replay's Slack, PagerDuty and flag
    /// requests byte for byte, its decisions and its runbook lines.
    /// </summary>
    [Fact]
    public async Task Invocations_through_the_worker_on_Azurite_match_replay_of_the_violation_fixture()
    {
        var wall = Stopwatch.StartNew();
        await using var replay = await PipelineHarness.StartAsync();
        var expected = await replay.ReplayAsync(Fixture, Phase.A);

        await using var h = await PipelineHarness.StartAsync(storage: StorageSelection.Azure(azurite.ConnectionString));
        await ReplayStore.ResetAsync(h.Ports);
        var windows = await Windows();
        var clockFile = Path.Combine(Directory.CreateTempSubdirectory("autosave-clock-").FullName, "now.txt");
        await SetClock(clockFile, windows[0].Start);
        // The state replay starts from.
        await new JsonRecordStore<RolloutState>(h.Ports.Blobs, StorePaths.RolloutState)
            .UpdateAsync(_ => RolloutState.Start(Phase.A.ToWire(), windows[0].Start));

        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Reporter__DryRun"] = "false",
            ["Analyzer__InitialPhase"] = "A",
            ["Telemetry__Path"] = RepoFiles.PathOf("fixtures/telemetry/" + Fixture),
            ["AutoSave__ClockFile"] = clockFile,
            ["Policy__Path"] = RepoFiles.PointPolicy, // the policy of the replay it is compared with
        };
        foreach (var kv in Microsoft.Extensions.Configuration.ConfigurationExtensions.AsEnumerable(h.Configuration()))
            if (kv.Value is not null) settings[kv.Key.Replace(":", "__")] = kv.Value;
        await using var host = await FunctionsTestHost.StartAsync(settings);
        var maxDequeueCount = HostJsonSettings.Load(RepoFiles.PathOf("host.json")).Queues.MaxDequeueCount;
        var listener = new RuntimeQueueListener(h.Ports.Queues, host, maxDequeueCount);

        var invocations = 0;
        foreach (var window in windows)
        {
            await SetClock(clockFile, window.End);
            var collected = await host.InvokeTimerAsync("Collector", now: window.End);
            Assert.True(collected.Result.Status == StatusResult.Types.Status.Success, collected.Result.Exception?.Message);
            invocations++;
            invocations += await listener.DrainAsync(StorePaths.AnalyzeQueue, "Analyzer");
            invocations += await listener.DrainAsync(StorePaths.ReportQueue, "Reporter");
        }

        Assert.True(listener.Failures.Count == 0, string.Join("\n", listener.Failures));
        Assert.Equal(Bodies(replay.Slack), Bodies(h.Slack));
        Assert.Equal(Bodies(replay.PagerDuty), Bodies(h.PagerDuty));
        Assert.Equal(Bodies(replay.Flags), Bodies(h.Flags));
        Assert.Equal(replay.Flags.Requests.Select(r => r.Header("Idempotency-Key")), h.Flags.Requests.Select(r => r.Header("Idempotency-Key")));
        Assert.NotEmpty(h.PagerDuty.Requests);
        Assert.NotEmpty(h.Flags.Requests);
        foreach (var w in expected.Where(w => w.Decision is not null))
        {
            var blob = await h.Ports.Blobs.TryGetAsync(StorePaths.Decision(TimeWindow.StartingAt(w.Manifest.WindowStart)));
            Assert.NotNull(blob);
            Assert.Equal(replay.ReadStoreText(StorePaths.Decision(TimeWindow.StartingAt(w.Manifest.WindowStart))), System.Text.Encoding.UTF8.GetString(blob!.Content));
        }
        var runbook = await h.Ports.Blobs.TryGetAsync(StorePaths.Runbook);
        Assert.Equal(replay.ReadStoreText(StorePaths.Runbook), runbook is null ? "" : System.Text.Encoding.UTF8.GetString(runbook.Content));
        output.WriteLine($"{windows.Count} windows, {invocations} invocations through the worker, {wall.Elapsed.TotalSeconds:F1} s in all");
    }

    private static async Task<IReadOnlyList<TimeWindow>> Windows()
    {
        var coverage = await new FileTelemetrySource(RepoFiles.PathOf("fixtures/telemetry/" + Fixture)).GetCoverageAsync();
        return TimeWindow.Range(coverage!.Value.First, coverage.Value.Last).ToList();
    }

    private static Task SetClock(string file, DateTimeOffset at) => File.WriteAllTextAsync(file, at.ToString("O"));

    private static string[] Bodies(RecordingServer server) => server.Requests.Select(r => $"{r.Method} {r.Path} {r.Body}").ToArray();
}

/// <summary>
/// The Functions runtime's queue-trigger loop for one queue, over the pipeline's queue port (host.json messageEncoding
/// applied): receive one message, invoke the function with it, delete it on success; on a failed last delivery
/// (dequeue count ≥ maxDequeueCount) copy its text to <c>&lt;queue&gt;-poison</c> and delete it, otherwise release it.
/// </summary>
internal sealed class RuntimeQueueListener(IQueueFactory queues, FunctionsTestHost host, int maxDequeueCount)
{
    public List<string> Failures { get; } = [];

    /// <summary>Delivers one visible message; null when the queue is empty.</summary>
    public async Task<InvocationResponse?> DeliverOneAsync(string queueName, string function)
    {
        var queue = queues.GetQueue(queueName);
        await queue.CreateIfNotExistsAsync();
        var batch = await queue.ReceiveAsync(1, TimeSpan.FromMinutes(10));
        if (batch.Count == 0) return null;
        var m = batch[0];
        var response = await host.InvokeQueueAsync(function, m.Text, m.DequeueCount, m.Id, m.PopReceipt, m.InsertedAt);
        if (response.Result.Status == StatusResult.Types.Status.Success)
        {
            await queue.DeleteAsync(m);
        }
        else
        {
            Failures.Add($"{function} {m.Id} #{m.DequeueCount}: {response.Result.Exception?.Message}");
            if (m.DequeueCount >= maxDequeueCount)
            {
                var poison = queues.GetQueue(QueueProcessor.PoisonQueueName(queueName));
                await poison.CreateIfNotExistsAsync();
                await poison.SendAsync(m.Text);
                await queue.DeleteAsync(m);
            }
            else
            {
                await queue.UpdateVisibilityAsync(m, TimeSpan.Zero);
            }
        }
        return response;
    }

    /// <summary>Delivers until the queue is empty; returns the number of invocations.</summary>
    public async Task<int> DrainAsync(string queueName, string function)
    {
        var n = 0;
        while (await DeliverOneAsync(queueName, function) is not null) n++;
        return n;
    }
}
