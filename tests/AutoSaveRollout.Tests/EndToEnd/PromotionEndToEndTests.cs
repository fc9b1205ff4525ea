using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Core.Gates;

namespace AutoSaveRollout.Tests.EndToEnd;

/// <summary>Promotion eligibility through the whole pipeline: the eligible post, the state and the dashboard.</summary>
public sealed class PromotionEndToEndTests
{
    private static string Text(Support.RecordedRequest r) => (string)((JsonObject)r.JsonBody()!)["text"]!;

    [Fact]
    public async Task Phase_A_clean_posts_autosave_eligible_once_after_the_eighth_compliant_window()
    {
        await using var h = await PipelineHarness.StartAsync();
        var results = await h.ReplayAsync("autosave_phaseA_clean.jsonl", Phase.A);

        Assert.Equal(8, results.Count);
        Assert.All(results, r => Assert.Contains(r.Decision!.Status, new DecisionStatus[] { "ok", "warn" }));
        var first = results[0].Decision!.WindowStart;
        var expected = $"🟢 AutoSave A eligible for promotion to B / compliant_windows=8 / since={first.UtcDateTime:yyyy-MM-dd'T'HH:mm'Z'} / approvers=sre,dev_lead";

        var eligiblePosts = h.Slack.RequestsTo(PipelineHarness.RolloutHook).Where(r => Text(r).StartsWith("🟢")).ToList();
        Assert.Equal(expected, Text(Assert.Single(eligiblePosts)));
        // Planned in the 8th window's outbox only.
        Assert.Equal([7], results.Select((r, i) => (r, i))
            .Where(x => x.r.Outbox!.Actions.Any(a => a.Template == "autosave-eligible")).Select(x => x.i).ToArray());
        var action = results[7].Outbox!.Actions.Single(a => a.Template == "autosave-eligible");
        Assert.Equal(("slack:#autosave-rollout:autosave-eligible", "#autosave-rollout", "done"), (action.Id, action.Target, action.Status));

        var (state, _) = await new JsonRecordStore<RolloutState>(h.Ports.Blobs, StorePaths.RolloutState).ReadAsync();
        var p = state!.Promotion!;
        Assert.Equal(("A", "B", true, 8, 8, first, results[7].Decision!.WindowStart), (p.Phase, p.Target, p.Eligible, p.Progress, p.Required, p.Since, p.AsOfWindowStart));
        var dashboard = JsonNode.Parse(h.ReadStoreText(StorePaths.Dashboard))!["promotion"]!;
        Assert.Equal(("B", true, 8, 8), ((string?)dashboard["target"], (bool)dashboard["eligible"]!, (int)dashboard["progress"]!, (int)dashboard["required"]!));
        Assert.Equal(["sre", "dev_lead"], dashboard["approvers"]!.AsArray().Select(n => (string)n!).ToArray());

        // Replaying again into the same store (every report message redelivered) posts nothing more.
        await h.ReplayAsync("autosave_phaseA_clean.jsonl", Phase.A);
        Assert.Single(h.Slack.RequestsTo(PipelineHarness.RolloutHook), r => Text(r).StartsWith("🟢"));
    }

    [Fact]
    public async Task A_violation_fixture_never_becomes_eligible_and_off_has_no_promotion()
    {
        await using var h = await PipelineHarness.StartAsync();
        var results = await h.ReplayAsync("autosave_phaseA_violation.jsonl", Phase.A);

        Assert.Contains(results, r => r.Decision!.Status == "violation");
        Assert.DoesNotContain(h.Slack.Requests, r => Text(r).StartsWith("🟢"));
        Assert.All(results, r => Assert.DoesNotContain(r.Outbox!.Actions, a => a.Template == "autosave-eligible"));
        var (state, _) = await new JsonRecordStore<RolloutState>(h.Ports.Blobs, StorePaths.RolloutState).ReadAsync();
        Assert.Equal("off", state!.Phase);
        Assert.Null(state.Promotion);
        Assert.Null(JsonNode.Parse(h.ReadStoreText(StorePaths.Dashboard))!["promotion"]);
    }

    [Fact]
    public async Task Dry_run_records_the_eligible_post_and_sends_nothing()
    {
        await using var h = await PipelineHarness.StartAsync(dryRun: true);
        await h.ReplayAsync("autosave_phaseA_clean.jsonl", Phase.A, dryRun: true);

        Assert.Empty(h.Slack.Requests);
        var logged = h.ReadStoreText(StorePaths.Notifications).TrimEnd('\n').Split('\n').Select(l => JsonNode.Parse(l)!)
            .Where(n => (string?)n["template"] == "autosave-eligible").ToList();
        Assert.Equal("dry_run", (string?)Assert.Single(logged)["status"]);
        Assert.StartsWith("🟢 AutoSave A eligible for promotion to B / compliant_windows=8", (string?)logged[0]["text"]);
    }

    [Fact]
    public async Task Phase_B_counts_toward_24_hours_and_dry_run_records_without_sending()
    {
        await using var h = await PipelineHarness.StartAsync(dryRun: true);
        var results = await h.ReplayAsync("autosave_phaseA_clean.jsonl", Phase.B, dryRun: true);

        var (state, _) = await new JsonRecordStore<RolloutState>(h.Ports.Blobs, StorePaths.RolloutState).ReadAsync();
        var p = state!.Promotion!;
        Assert.Equal(("B", "C", false, 8, 96, results[0].Decision!.WindowStart), (p.Phase, p.Target, p.Eligible, p.Progress, p.Required, p.Since));
        Assert.Empty(h.Slack.Requests);
    }
}
