using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Tests.Policy;
using Xunit.Abstractions;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>
/// Every crash point of a replay, one at a time: the replay dies just before its k-th storage or queue mutation (for
/// every k), then a resumed replay runs on the same embedded folder with new adapter instances (a restarted process),
/// and the result must equal an uninterrupted run. Real embedded storage, real queues, real HTTP clients against
/// <see cref="FakePeers"/>; only the moment of death is injected (<see cref="CrashPlan"/>).
/// </summary>
public sealed class CrashPointTests(ITestOutputHelper output) : IDisposable
{
    // On tmpfs when the machine has one: the run fsyncs every write, and this test runs a few hundred replays.
    private readonly string _dir = Directory.Exists("/dev/shm")
        ? Directory.CreateDirectory(Path.Combine("/dev/shm", "autosave-crashpoints-" + Guid.NewGuid().ToString("N"))).FullName
        : Directory.CreateTempSubdirectory("autosave-crashpoints-").FullName;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly RolloutPolicy _policy = PolicyLoader.LoadFile(RepoFiles.PointPolicy);
    private readonly TemplateRenderer _templates = TemplateRenderer.Load();

    public void Dispose()
    {
        _http.Dispose();
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private Task<IReadOnlyList<ReplayWindow>> ReplayAsync(string store, string input, FakePeers peers, CrashPlan plan)
    {
        var ports = PipelineFactory.CreatePorts(peers.Configuration(), StorageSelection.Embedded(store), TimeProvider.System, dryRun: false, _policy, _http);
        ports = ports with { Blobs = new CrashingBlobStore(ports.Blobs, plan), Queues = new CrashingQueueFactory(ports.Queues, plan) };
        return new ReplayRunner(ports, _policy, _templates).RunAsync(new FileTelemetrySource(input),
            new ReplayOptions(Phase.C, DryRun: false, TimeSpan.Zero, new QueueProcessingOptions()) { Resume = true });
    }

    [Fact]
    public async Task A_crash_before_any_mutation_is_healed_by_a_resumed_replay()
    {
        // 6 windows from phase C: ok, violation (C→B), ok, violation (B→A), ok, violation (A→off).
        var input = Path.Combine(_dir, "input.jsonl");
        var expectedLines = CrashInput.Write(input, TimeSpan.FromMinutes(90), seed: 11, 15, 45, 75);
        await using var peers = await FakePeers.StartAsync();

        var referenceStore = Path.Combine(_dir, "reference");
        var counting = new CrashPlan();
        await ReplayAsync(referenceStore, input, peers, counting);
        var reference = CrashReference.Capture(referenceStore, peers);
        var mutations = counting.Mutations;
        output.WriteLine($"uninterrupted replay: {mutations} storage/queue mutations");
        Assert.InRange(mutations, 50, 2000);

        var failures = new List<string>();
        for (var k = 0; k < mutations; k++)
        {
            peers.Clear();
            var store = Path.Combine(_dir, "crash-" + k);
            var plan = new CrashPlan(k);
            await Assert.ThrowsAsync<SimulatedCrashException>(() => ReplayAsync(store, input, peers, plan));
            await ReplayAsync(store, input, peers, new CrashPlan());
            var problems = reference.Differences(store, peers, crashes: 1, expectedLines);
            if (problems.Count > 0) failures.Add($"crash before {plan.CrashedAt}:\n    " + string.Join("\n    ", problems));
            Directory.Delete(store, recursive: true);
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {mutations} crash points not healed:\n" + string.Join("\n", failures));
    }
}
