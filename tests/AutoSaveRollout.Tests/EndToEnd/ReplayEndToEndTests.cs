using System.Text.Json;
using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.EndToEnd;

public class ReplayEndToEndTests
{
    private const string Cli = "autosave-rollout";

    private static JsonObject Body(Support.RecordedRequest r) => (JsonObject)r.JsonBody()!;

    [Fact]
    public async Task Phase_A_violation_posts_the_incident_pages_once_rolls_back_once_and_steps_to_off()
    {
        await using var h = await PipelineHarness.StartAsync();
        var results = await h.ReplayAsync("autosave_phaseA_violation.jsonl", Phase.A);

        var violated = results.Where(r => r.Decision!.Status == "violation").ToList();
        var v = Assert.Single(violated);
        var d = v.Decision!;
        Assert.Equal("A", d.Phase);
        Assert.Equal(["p95_s"], d.Violations);
        Assert.True(d.Metrics["p95_s"].Value > 2.5);
        var window = TimeWindow.StartingAt(d.WindowStart);
        Assert.All(results.Where(r => r.Manifest.WindowStart < d.WindowStart), r => Assert.Equal("ok", r.Decision!.Status));
        Assert.All(results.Where(r => r.Manifest.WindowStart > d.WindowStart), r =>
        {
            Assert.Equal("off", r.Decision!.Phase);
            Assert.Equal("off", r.Decision.Status);
            Assert.False(r.Decision.RollbackRequired);
        });

        var cmd = $"{Cli} rollback --flag autosave --from A --to off --reason \"p95_s violation\" --decision {d.DecisionId}";
        Assert.Equal(cmd, d.Rollback!.Command);
        var incident = $"🚨 AutoSave A violation / metric=p95_s / window={window} / rollback={cmd}";

        // Slack: exactly the incident, to the incident channel's webhook; phase A posts no ok messages.
        var slack = Assert.Single(h.Slack.RequestsTo(PipelineHarness.IncidentHook));
        Assert.Equal("POST", slack.Method);
        Assert.StartsWith("application/json", slack.Header("Content-Type"));
        Assert.Equal(new JsonObject { ["text"] = incident }.ToJsonString(), Body(slack).ToJsonString());
        Assert.Empty(h.Slack.RequestsTo(PipelineHarness.RolloutHook));

        // PagerDuty Events v2 trigger.
        var pd = Assert.Single(h.PagerDuty.RequestsTo("/v2/enqueue"));
        var e = Body(pd);
        Assert.Equal(PipelineHarness.RoutingKey, (string?)e["routing_key"]);
        Assert.Equal("trigger", (string?)e["event_action"]);
        Assert.Equal($"autosave/A/{window.Id}", (string?)e["dedup_key"]);
        var payload = (JsonObject)e["payload"]!;
        Assert.Equal(incident, (string?)payload["summary"]);
        Assert.Equal("autosave-rollout-monitor", (string?)payload["source"]);
        Assert.Equal("critical", (string?)payload["severity"]);
        Assert.Equal("autosave", (string?)payload["component"]);
        var details = (JsonObject)payload["custom_details"]!;
        Assert.Equal("autosave-incident", (string?)details["template_id"]);
        Assert.Equal(cmd, (string?)details["rollback"]!["command"]);
        Assert.Equal(d.DecisionId, (string?)details["decision_id"]);
        Assert.Equal(d.Metrics["p95_s"].Value, (double?)details["metrics"]!["p95_s"]!["value"]);
        Assert.Equal("violation", (string?)details["metrics"]!["p95_s"]!["status"]);

        // Rollback flag service: one call, one phase back, bearer token and idempotency key.
        var flag = Assert.Single(h.Flags.Requests);
        Assert.Equal("POST", flag.Method);
        Assert.Equal("/flags/autosave/rollback", flag.Path);
        Assert.Equal($"Bearer {PipelineHarness.FlagToken}", flag.Header("Authorization"));
        Assert.Equal(d.DecisionId, flag.Header("Idempotency-Key"));
        Assert.Equal(
            new JsonObject { ["from_phase"] = "A", ["to_phase"] = "off", ["reason"] = "p95_s violation", ["decision_id"] = d.DecisionId }.ToJsonString(),
            Body(flag).ToJsonString());

        // Runbook: the autosave-rollback line, after the flag call.
        var runbook = h.ReadStoreText(StorePaths.Runbook).TrimEnd('\n').Split('\n');
        var line = Assert.Single(runbook);
        Assert.EndsWith($" {d.DecisionId} Rollback invoked: `{cmd}` / initiated_by=autosave-rollout-monitor / reason=p95_s", line);
        Assert.True(flag.ReceivedAt <= DateTimeOffset.UtcNow);

        // Dashboard and state.
        var dashboard = JsonNode.Parse(h.ReadStoreText(StorePaths.Dashboard))!;
        Assert.Equal("off", (string?)dashboard["phase"]);
        Assert.True((bool)dashboard["rollback_active"]!);
        Assert.Equal(results.Count, dashboard["recent_decisions"]!.AsArray().Count);
        var card = dashboard["slo_card"]!;
        Assert.Equal(results[^1].Decision!.DecisionId, (string?)card["decision_id"]);

        // Secrets never reach records.
        var stored = h.AllStoredText();
        Assert.All(h.Secrets, s => Assert.DoesNotContain(s, stored));
    }

    [Fact]
    public async Task Dry_run_sends_nothing_but_renders_and_records_everything()
    {
        await using var h = await PipelineHarness.StartAsync(dryRun: true);
        var results = await h.ReplayAsync("autosave_phaseA_violation.jsonl", Phase.A, dryRun: true);

        Assert.Empty(h.Slack.Requests);
        Assert.Empty(h.PagerDuty.Requests);
        Assert.Empty(h.Flags.Requests);
        var d = results.Single(r => r.Decision!.RollbackRequired).Decision!;
        var logged = h.ReadStoreText(StorePaths.Notifications).TrimEnd('\n').Split('\n').Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(["slack", "pagerduty", "flag_rollback", "runbook"], logged.Select(n => (string)n["kind"]!).ToArray());
        Assert.All(logged, n => Assert.Equal("dry_run", (string?)n["status"]));
        Assert.Contains($"{d.DecisionId} [dry-run] Rollback invoked: `{d.Rollback!.Command}`", h.ReadStoreText(StorePaths.Runbook));
        // The phase still steps back in the pipeline's own records.
        Assert.Equal("off", results[^1].Decision!.Phase);
    }

    [Fact]
    public async Task Phase_B_posts_autosave_ok_for_ok_windows_and_autosave_warn_for_warn_windows()
    {
        await using var h = await PipelineHarness.StartAsync();
        var results = await h.ReplayAsync("autosave_phaseA_clean.jsonl", Phase.B);

        // Reference statuses for this fixture in B: ok ok ok warn ok ok ok warn (errors near 0.4-0.45 %, warn from 0.4 %).
        Assert.Equal(["ok", "ok", "ok", "warn", "ok", "ok", "ok", "warn"], results.Select(r => r.Decision!.Status).ToArray());
        var posts = h.Slack.RequestsTo(PipelineHarness.RolloutHook); // channels.ok and channels.warn share #autosave-rollout
        Assert.Equal(results.Count, posts.Count);
        for (var i = 0; i < results.Count; i++)
        {
            var d = results[i].Decision!;
            var window = TimeWindow.StartingAt(d.WindowStart);
            var p95 = d.Metrics["p95_s"].Value!.Value.ToString("F3", System.Globalization.CultureInfo.InvariantCulture);
            var err = d.Metrics["error_rate_pct"].Value!.Value.ToString("F2", System.Globalization.CultureInfo.InvariantCulture);
            var expected = d.Status == "ok"
                ? $"✅ AutoSave B OK / window={window} / p95={p95}s / err={err}%"
                : $"⚠️ AutoSave B nearing limits / p95={p95}s / err={err}% / action=watch";
            Assert.Equal(new JsonObject { ["text"] = expected }.ToJsonString(), Body(posts[i]).ToJsonString());
        }
        Assert.Empty(h.Slack.RequestsTo(PipelineHarness.IncidentHook));
        Assert.Empty(h.PagerDuty.Requests);
        Assert.Empty(h.Flags.Requests);
    }

    [Fact]
    public async Task Each_violation_steps_back_exactly_one_phase_C_to_B_to_A()
    {
        await using var h = await PipelineHarness.StartAsync();
        var results = await h.ReplayAsync("autosave_warn_band.jsonl", Phase.C);

        // Reference: 08:00 violates in C (error rate 0.43 % > 0.3 %), 08:30 violates in B (P95 2.22 s > 2.0 s).
        Assert.Equal(["C", "B", "B", "A", "A", "A", "A", "A"], results.Select(r => r.Decision!.Phase).ToArray());
        Assert.Equal(["violation", "ok", "violation", "warn", "ok", "ok", "ok", "ok"], results.Select(r => r.Decision!.Status).ToArray());
        var calls = h.Flags.Requests.Select(r => ((string?)Body(r)["from_phase"], (string?)Body(r)["to_phase"])).ToArray();
        Assert.Equal([("C", "B"), ("B", "A")], calls);
        Assert.Equal(2, h.PagerDuty.Requests.Count);
        Assert.Equal(2, h.Slack.RequestsTo(PipelineHarness.IncidentHook).Count);
        // ok in B is posted (B and C post ok); the warn at 08:45 in A is posted; ok windows in A are not.
        var texts = h.Slack.RequestsTo(PipelineHarness.RolloutHook).Select(r => (string)Body(r)["text"]!).ToArray();
        Assert.Equal(2, texts.Length);
        Assert.StartsWith("✅ AutoSave B OK / window=2026-11-20T08:15Z/2026-11-20T08:30Z", texts[0]);
        Assert.StartsWith("⚠️ AutoSave A nearing limits / p95=2.207s", texts[1]);
    }

    [Fact]
    public async Task Warn_band_in_phase_A_posts_autosave_warn_and_never_pages()
    {
        await using var h = await PipelineHarness.StartAsync();
        var results = await h.ReplayAsync("autosave_warn_band.jsonl", Phase.A);

        var warns = results.Where(r => r.Decision!.Status == "warn").ToList();
        Assert.NotEmpty(warns);
        Assert.DoesNotContain(results, r => r.Decision!.Status == "violation");
        // Besides the warn posts, the rollout channel gets the one promotion-eligibility post (8 compliant windows in A).
        var all = h.Slack.RequestsTo(PipelineHarness.RolloutHook);
        var posts = all.Where(p => ((string?)Body(p)["text"])!.StartsWith("⚠️")).ToList();
        Assert.Equal(warns.Count, posts.Count);
        Assert.StartsWith("🟢 AutoSave A eligible for promotion to B", (string?)Body(Assert.Single(all.Except(posts)))["text"]);
        Assert.Equal(["2026-11-20T08:30:00.0000000+00:00", "2026-11-20T08:45:00.0000000+00:00"], warns.Select(w => w.Decision!.WindowStart.ToString("O")).ToArray());
        Assert.Equal("⚠️ AutoSave A nearing limits / p95=2.223s / err=0.00% / action=watch", (string?)Body(posts[0])["text"]);
        Assert.Empty(h.PagerDuty.Requests);
        Assert.Empty(h.Flags.Requests);
    }

    [Fact]
    public async Task Error_rate_violation_in_B_steps_back_to_A_and_clears_rollback_active_after_one_clean_window()
    {
        await using var h = await PipelineHarness.StartAsync();
        var results = await h.ReplayAsync("autosave_error_rate_violation.jsonl", Phase.B);

        var i = results.ToList().FindIndex(r => r.Decision!.Status == "violation");
        Assert.True(i >= 0);
        var d = results[i].Decision!;
        Assert.Contains("error_rate_pct", d.Violations);
        Assert.Equal("A", d.NextPhase);
        Assert.All(results.Skip(i + 1), r => Assert.Equal("A", r.Decision!.Phase));
        var flag = Assert.Single(h.Flags.Requests);
        Assert.Equal("B", (string?)Body(flag)["from_phase"]);
        Assert.Equal("A", (string?)Body(flag)["to_phase"]);
        // rollback_active clears after one clean window following the rollback (if the fixture has one).
        var dashboard = JsonNode.Parse(h.ReadStoreText(StorePaths.Dashboard))!;
        var cleanAfter = results.Skip(i + 1).Any(r => r.Decision!.Status == "ok" || r.Decision!.Status == "warn");
        Assert.Equal(!cleanAfter, (bool)dashboard["rollback_active"]!);
    }

    [Fact]
    public async Task Slack_failure_is_retried_without_repeating_the_page_or_the_rollback()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Slack.Enqueue(PipelineHarness.IncidentHook, Support.ScriptedResponse.Text(500, "rollup_error"));
        var results = await h.ReplayAsync("autosave_phaseA_violation.jsonl", Phase.A);

        Assert.Equal(2, h.Slack.RequestsTo(PipelineHarness.IncidentHook).Count); // 500, then 200 from the retry policy
        Assert.Single(h.PagerDuty.Requests);
        Assert.Single(h.Flags.Requests);
        var outbox = results.Single(r => r.Decision!.RollbackRequired).Outbox!;
        Assert.All(outbox.Actions, a => Assert.Equal(ActionStatus.Done, a.Status));
        Assert.Equal(1, outbox.Actions.Single(a => a.Kind == ActionKind.Slack).Attempts); // retried within the first delivery
        Assert.Single(h.ReadStoreText(StorePaths.Runbook).TrimEnd('\n').Split('\n'));
    }

    [Fact]
    public async Task A_permanently_failing_flag_service_dead_letters_the_report_and_never_writes_the_runbook_line()
    {
        await using var h = await PipelineHarness.StartAsync();
        h.Flags.SetFallback(Support.ScriptedResponse.Text(403, "forbidden"));
        await h.ReplayAsync("autosave_phaseA_violation.jsonl", Phase.A, maxDequeueCount: 3);

        Assert.Equal(3, h.Flags.Requests.Count);                 // one per delivery
        Assert.Single(h.Slack.RequestsTo(PipelineHarness.IncidentHook)); // not repeated
        Assert.Single(h.PagerDuty.Requests);
        Assert.Equal("", h.ReadStoreText(StorePaths.Runbook));
        var dead = JsonNode.Parse(h.ReadStoreText(QueueProcessor.DeadLetterLog).TrimEnd('\n').Split('\n').Single())!;
        Assert.Equal(StorePaths.ReportQueue, (string?)dead["queue"]);
        Assert.Equal(3, (int)dead["dequeue_count"]!);
        Assert.Contains("flag", (string?)dead["error"]);
        Assert.DoesNotContain(PipelineHarness.FlagToken, h.AllStoredText());
    }

    [Fact]
    public async Task Simulated_collector_latency_over_five_minutes_raises_collector_delayed_and_a_warn_message()
    {
        await using var h = await PipelineHarness.StartAsync();
        var results = await h.ReplayAsync("autosave_phaseA_clean.jsonl", Phase.A, latencySeconds: 400);

        var first = results[0];
        Assert.Equal(400, first.Manifest.CollectorLatencyS);
        Assert.Equal(["collector.delayed"], first.Manifest.Events);
        Assert.True(first.Decision!.CollectorDelayed);
        Assert.Equal(["collector_latency_s"], first.Decision.Violations); // 400 s > 180 s in phase A
        var warn = h.Slack.RequestsTo(PipelineHarness.RolloutHook);
        Assert.StartsWith("⚠️ AutoSave A nearing limits", (string?)Body(warn[0])["text"]);
    }

    [Fact]
    public async Task Replaying_twice_into_the_same_store_is_idempotent_by_window()
    {
        await using var h = await PipelineHarness.StartAsync();
        var first = await h.ReplayAsync("autosave_phaseA_violation.jsonl", Phase.A);
        var second = await h.ReplayAsync("autosave_phaseA_violation.jsonl", Phase.A);

        Assert.Equal(first.Select(r => r.Decision!.DecisionId), second.Select(r => r.Decision!.DecisionId));
        Assert.Single(h.Flags.Requests);
        Assert.Single(h.PagerDuty.Requests);
        Assert.Single(h.Slack.RequestsTo(PipelineHarness.IncidentHook));
    }

    [Fact]
    public async Task Bad_lines_are_quarantined_with_line_number_and_reason_and_the_rest_goes_on()
    {
        await using var h = await PipelineHarness.StartAsync(dryRun: true);
        var results = await h.ReplayAsync("autosave_bad_lines.jsonl", Phase.A, dryRun: true);

        var rejected = results.Sum(r => r.Manifest.Rejected);
        Assert.True(rejected >= 9, $"expected the fixture's bad lines to be rejected, got {rejected}");
        var lines = results.Where(r => r.Manifest.RejectedPath is not null)
            .SelectMany(r => h.ReadStoreText(r.Manifest.RejectedPath!).TrimEnd('\n').Split('\n'))
            .Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Equal(rejected, lines.Count);
        Assert.All(lines, l =>
        {
            Assert.Equal("autosave_bad_lines.jsonl", (string?)l["source"]);
            Assert.True((long)l["line"]! > 0);
            Assert.False(string.IsNullOrEmpty((string?)l["reason"]));
        });
        Assert.Contains(lines, l => ((string)l["reason"]!).StartsWith("duration_ms: expected a number, got string"));
        Assert.Contains(lines, l => ((string)l["reason"]!).StartsWith("duration_ms: negative"));
        Assert.True(results.Sum(r => r.Manifest.Duplicates) >= 1);
        Assert.True(results.Sum(r => r.Manifest.Ignored.Values.Sum()) >= 1);
        Assert.All(results, r => Assert.NotNull(r.Decision));
    }
}
