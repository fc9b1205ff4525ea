using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.EndToEnd;

/// <summary>
/// The whole replay on Azurite (Blob + Queue over REST, base64 queue messages, leases) gives exactly the decisions, records
/// and outward requests it gives on the embedded default.
/// </summary>
[Collection(AzuriteCollection.Name)]
public class AzuriteReplayParityTests(AzuriteFixture azurite)
{
    [Theory]
    [InlineData("autosave_phaseA_violation.jsonl", "A")]
    [InlineData("autosave_warn_band.jsonl", "C")]
    [InlineData("autosave_bad_lines.jsonl", "B")]
    public async Task Replay_on_Azurite_matches_the_embedded_default(string fixture, string phase)
    {
        PhaseExtensions.TryParse(phase, out var p);
        await using var embedded = await PipelineHarness.StartAsync();
        var expected = await embedded.ReplayAsync(fixture, p);

        await using var onAzure = await PipelineHarness.StartAsync(storage: StorageSelection.Azure(azurite.ConnectionString));
        await ReplayStore.ResetAsync(onAzure.Ports);
        var actual = await onAzure.ReplayAsync(fixture, p);

        Assert.Equal(expected.Select(ReplayRunner.ToJsonLine), actual.Select(ReplayRunner.ToJsonLine));
        Assert.Equal(expected.Select(w => w.Manifest.BatchSha256), actual.Select(w => w.Manifest.BatchSha256));
        Assert.Equal(Bodies(embedded.Slack), Bodies(onAzure.Slack));
        Assert.Equal(Bodies(embedded.PagerDuty), Bodies(onAzure.PagerDuty));
        Assert.Equal(Bodies(embedded.Flags), Bodies(onAzure.Flags));
        Assert.Equal(embedded.Flags.Requests.Select(r => r.Header("Idempotency-Key")), onAzure.Flags.Requests.Select(r => r.Header("Idempotency-Key")));

        // The records are where the embedded store keeps them.
        var dashboard = await onAzure.Ports.Blobs.TryGetAsync(StorePaths.Dashboard);
        Assert.NotNull(dashboard);
        var expectedDashboard = JsonNode.Parse(embedded.ReadStoreText(StorePaths.Dashboard))!;
        var actualDashboard = JsonNode.Parse(dashboard!.Content)!;
        Assert.Equal(expectedDashboard["phase"]!.ToJsonString(), actualDashboard["phase"]!.ToJsonString());
        Assert.Equal(expectedDashboard["rollback_active"]!.ToJsonString(), actualDashboard["rollback_active"]!.ToJsonString());
        Assert.Equal(expectedDashboard["recent_decisions"]!.ToJsonString(), actualDashboard["recent_decisions"]!.ToJsonString());
    }

    // PagerDuty timestamps and ids are deterministic (simulated clock), so whole bodies compare.
    private static string[] Bodies(RecordingServer server) => server.Requests.Select(r => $"{r.Method} {r.Path} {r.Body}").ToArray();
}
