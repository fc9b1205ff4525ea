using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Lifecycle;

/// <summary>
/// The phase lifecycle over days of simulated 15-minute windows (issue "Phase lifecycle", Tests): every Slack message,
/// flag-service and PagerDuty call and audit entry is asserted.
/// </summary>
public sealed class LifecycleScenarioTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);
    private const string Rollout = LifecycleScenario.RolloutHook;
    private const string Incident = LifecycleScenario.IncidentHook;
    private const string Escalation = LifecycleScenario.EscalationHook;

    private static string Z(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'");

    [Fact]
    public async Task Clean_run_moves_A_to_B_to_C_to_complete_with_approvals_and_posts_daily_reports_in_C()
    {
        await using var s = await LifecycleScenario.StartAsync(T0);

        // SRE approves ahead of eligibility: recorded, no move yet.
        var early = await s.ApproveAsync("B", "sre", "sam.sre", "https://example.test/pr/1#approve");
        Assert.Equal(MoveOutcome.NotEligible, early.Outcome);
        Assert.Equal(["dev_lead"], early.MissingRoles);

        await s.RunWindowsAsync(8); // 00:00–02:00: eligible after the 8th compliant window
        var waiting = await s.Lifecycle.TickAsync();
        Assert.Equal(MoveOutcome.AwaitingApprovals, waiting.Outcome);
        Assert.Equal(["dev_lead"], waiting.MissingRoles);
        Assert.Equal("A", (await s.StateAsync()).Phase);

        s.Wait(2);
        var toB = await s.ApproveAsync("B", "dev_lead", "dana.dev");
        var movedToBAt = s.Clock.GetUtcNow();
        Assert.Equal((MoveOutcome.Moved, "move-autosave-A-B-20261102T000000Z"), (toB.Outcome, toB.MoveId));
        var state = await s.StateAsync();
        Assert.Equal(("B", movedToBAt, movedToBAt, 0, "C"), (state.Phase, state.PhaseSince, state.LastMoveAt, state.Promotion!.Progress, state.Promotion.Target));
        Assert.Null(state.Transition); // its outbox completed

        await s.RunWindowsAsync(96); // 24 h in B
        Assert.All(s.Decisions.Skip(8), d => Assert.Equal(("B", "ok"), (d.Phase, d.Status)));
        s.Wait(2);
        var toC = await s.ApproveAsync("C", "sre", "sam.sre");
        var movedToCAt = s.Clock.GetUtcNow();
        Assert.Equal((MoveOutcome.Moved, "move-autosave-B-C-20261102T020230Z"), (toC.Outcome, toC.MoveId));

        await s.RunWindowsAsync(288); // 72 h in C
        Assert.All(s.Decisions.Skip(104), d => Assert.Equal(("C", "ok"), (d.Phase, d.Status)));
        s.Wait(2);
        var complete = await s.ApproveAsync("complete", "governance", "grace.gov", "https://example.test/governance/42");
        Assert.Equal((MoveOutcome.Moved, "move-autosave-C-complete-20261103T020230Z"), (complete.Outcome, complete.MoveId));
        state = await s.StateAsync();
        Assert.Equal(("C", s.Clock.GetUtcNow()), (state.Phase, state.CompletedAt));
        var after = await Assert.ThrowsAsync<LifecycleException>(() => s.Lifecycle.ApproveAsync(new ApprovalRequest("complete", "governance", "grace.gov", null)));
        Assert.StartsWith("the rollout is already complete (signed off 2026-11-06T02:02Z)", after.Message);

        // Slack: 96 + 288 autosave-ok posts, and these lifecycle posts, in this order, all to #autosave-rollout.
        Assert.Equal(384, s.SlackPosts().Count(p => p.Hook == Rollout && p.Text.StartsWith("✅ AutoSave")));
        var lifecycle = s.LifecyclePosts();
        Assert.All(lifecycle, p => Assert.Equal(Rollout, p.Hook));
        Assert.Equal(
        [
            "🟢 AutoSave A eligible for promotion to B / compliant_windows=8 / since=2026-11-02T00:00Z / approvers=sre,dev_lead",
            "🚀 AutoSave promoted A → B / exposure=30% / approved_by=sre=sam.sre,dev_lead=dana.dev / evidence=passed / move=move-autosave-A-B-20261102T000000Z",
            "🟢 AutoSave B eligible for promotion to C / compliant_windows=96 / since=2026-11-02T02:00Z / approvers=sre",
            "🚀 AutoSave promoted B → C / exposure=100% / approved_by=sre=sam.sre / evidence=passed / move=move-autosave-B-C-20261102T020230Z",
        ], lifecycle.Take(4).Select(p => p.Text).ToArray());
        var daily = lifecycle.Skip(4).Take(3).Select(p => p.Text).ToList();
        Assert.StartsWith("📊 AutoSave C daily 2026-11-03 (UTC) / windows in C=88/96", daily[0]);
        Assert.StartsWith("📊 AutoSave C daily 2026-11-04 (UTC) / windows in C=96/96", daily[1]);
        Assert.StartsWith("📊 AutoSave C daily 2026-11-05 (UTC) / windows in C=96/96", daily[2]);
        Assert.All(daily, d => Assert.Contains("compliance=100.0%", d));
        Assert.All(daily, d => Assert.Contains("incidents=0", d));
        Assert.Equal(
        [
            "🟢 AutoSave C eligible for promotion to complete / compliant_windows=288 / since=2026-11-03T02:00Z / approvers=governance",
            "🚀 AutoSave promoted C → complete / exposure=100% / approved_by=governance=grace.gov / evidence=passed / move=move-autosave-C-complete-20261103T020230Z",
        ], lifecycle.Skip(7).Select(p => p.Text).ToArray());
        Assert.Empty(s.Slack.RequestsTo(Incident));
        Assert.Empty(s.Slack.RequestsTo(Escalation));
        Assert.Null(await s.Ports.Blobs.TryGetAsync(StorePaths.DailyReport(new DateOnly(2026, 11, 2)))); // no window of that day was in C
        Assert.NotNull(await s.Ports.Blobs.TryGetAsync(StorePaths.DailyReport(new DateOnly(2026, 11, 5))));

        // Flag service: exactly three phase moves, one step each, keyed by their move ids; no rollback. PagerDuty: nothing.
        Assert.Equal(
        [
            ("/flags/autosave/phase", "move-autosave-A-B-20261102T000000Z", "A", "B"),
            ("/flags/autosave/phase", "move-autosave-B-C-20261102T020230Z", "B", "C"),
            ("/flags/autosave/phase", "move-autosave-C-complete-20261103T020230Z", "C", "complete"),
        ], s.FlagCalls().Select(c => (c.Path, c.Key, (string?)c.Body["from_phase"], (string?)c.Body["to_phase"])).ToArray());
        Assert.All(s.FlagCalls(), c => Assert.Equal(c.Key, (string?)c.Body["move_id"]));
        Assert.Empty(s.PagerDuty.Requests);

        // Audit: who approved what, in which phase segment, and the moves that consumed the approvals.
        var audit = await s.AuditAsync();
        Assert.Equal(
        [
            ("approval", "A", "B", "sre", "sam.sre"),
            ("approval", "A", "B", "dev_lead", "dana.dev"),
            ("phase_moved", "A", "B", null, null),
            ("approval", "B", "C", "sre", "sam.sre"),
            ("phase_moved", "B", "C", null, null),
            ("approval", "C", "complete", "governance", "grace.gov"),
            ("phase_moved", "C", "complete", null, null),
        ], audit.Select(e => (e.Type, e.Phase, e.Target, e.Role, e.Actor)).ToArray());
        Assert.Equal([T0, T0, T0, movedToBAt, movedToBAt, movedToCAt, movedToCAt], audit.Select(e => e.PhaseSince!.Value).ToArray());
        Assert.Equal([audit[0].Id, audit[1].Id], audit[2].Approvals);
        Assert.Equal("https://example.test/pr/1#approve", audit[0].Evidence);
        Assert.All(audit, e => Assert.Equal(s.Policy.Sha256, e.PolicySha256));
    }

    // A → B with both approvals after 8 compliant windows, then `windowsInB` compliant windows in B and one violation
    // window there (B → A). Returns the violation decision.
    private static async Task<DecisionRecord> PromoteToBThenViolateAsync(LifecycleScenario s, int windowsInB, Func<Task>? beforeViolation = null)
    {
        await s.RunWindowsAsync(8);
        s.Wait(2);
        await s.ApproveAsync("B", "sre", "sam.sre");
        Assert.Equal(MoveOutcome.Moved, (await s.ApproveAsync("B", "dev_lead", "dana.dev")).Outcome);
        await s.RunWindowsAsync(windowsInB);
        if (beforeViolation is not null) await beforeViolation();
        s.Violations.Add(s.Next.Start);
        await s.RunWindowsAsync(1);
        var violation = s.Decisions[^1];
        Assert.Equal(("B", "violation", "A"), (violation.Phase, violation.Status, violation.NextPhase));
        return violation;
    }

    private static string IncidentText(DecisionRecord d) =>
        $"🚨 AutoSave B violation / metric=p95_s / window={Core.Windows.TimeWindow.StartingAt(d.WindowStart)} / rollback={d.Rollback!.Command}";

    [Fact]
    public async Task A_violation_voids_pending_approvals_and_the_next_move_needs_new_ones()
    {
        await using var s = await LifecycleScenario.StartAsync(T0);
        IReadOnlyList<AuditEntry>? beforeViolation = null;
        var violation = await PromoteToBThenViolateAsync(s, 10, async () =>
        {
            s.Wait(2);
            var early = await s.ApproveAsync("C", "sre", "sam.sre"); // B is far from its 24 h: recorded, pending
            Assert.Equal(MoveOutcome.NotEligible, early.Outcome);
            beforeViolation = await s.AuditAsync();
        });
        var sreForC = beforeViolation![^1];
        Assert.Equal(("approval", "B", "C"), (sreForC.Type, sreForC.Phase, sreForC.Target));
        var dedupKey = PagerDutyTriggers.DedupKey(violation);
        Assert.Equal("autosave/B/20261102T0430Z", dedupKey);

        // The on-call acknowledges 5 minutes after the page.
        s.Wait(5);
        s.PagerDuty.Acknowledge(dedupKey, s.Clock.GetUtcNow());

        var audit = await s.AuditAsync();
        var voided = audit[^1];
        Assert.Equal(("approvals_voided", "B", violation.DecisionId), (voided.Type, voided.Phase, voided.Cause));
        Assert.Equal([sreForC.Id], voided.Approvals);
        var state = await s.StateAsync();
        Assert.Equal(("A", true), (state.Phase, state.RollbackActive));
        var view = (await s.Lifecycle.GetViewAsync())!;
        Assert.Equal(("A", "B"), (view.Phase, view.Target));
        Assert.Empty(view.Approvals); // the approvals that moved A → B were consumed; the B approval is void
        Assert.Equal(["sre", "dev_lead"], view.MissingRoles);

        await s.RunWindowsAsync(8); // A is eligible again after 8 compliant windows
        var waiting = await s.Lifecycle.TickAsync();
        Assert.Equal(MoveOutcome.AwaitingApprovals, waiting.Outcome);
        Assert.Equal(["sre", "dev_lead"], waiting.MissingRoles);
        s.Wait(2);
        await s.ApproveAsync("B", "sre", "sam.sre");
        var again = await s.ApproveAsync("B", "dev_lead", "dana.dev");
        Assert.Equal(MoveOutcome.Moved, again.Outcome); // evidence: the incident was acknowledged within 15 minutes
        var segmentA2 = audit.Single(e => e.Type == "approvals_voided").At; // the step back began A's second segment
        Assert.Equal($"move-autosave-A-B-{segmentA2.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}", again.MoveId);

        // Back in B: the voided approval does not count.
        view = (await s.Lifecycle.GetViewAsync())!;
        Assert.Equal(("B", 0), (view.Phase, view.Approvals.Count));
        Assert.Equal(["sre"], view.MissingRoles);

        Assert.Equal(
        [
            (Rollout, "🟢 AutoSave A eligible for promotion to B / compliant_windows=8 / since=2026-11-02T00:00Z / approvers=sre,dev_lead"),
            (Rollout, "🚀 AutoSave promoted A → B / exposure=30% / approved_by=sre=sam.sre,dev_lead=dana.dev / evidence=passed / move=move-autosave-A-B-20261102T000000Z"),
            (Incident, IncidentText(violation)),
            (Rollout, "🟢 AutoSave A eligible for promotion to B / compliant_windows=8 / since=2026-11-02T04:45Z / approvers=sre,dev_lead"),
            (Rollout, $"🚀 AutoSave promoted A → B / exposure=30% / approved_by=sre=sam.sre,dev_lead=dana.dev / evidence=passed / move={again.MoveId}"),
        ], s.LifecyclePosts().ToArray());
        Assert.Equal(
        [
            ("/flags/autosave/phase", "move-autosave-A-B-20261102T000000Z", "A", "B"),
            ("/flags/autosave/rollback", violation.DecisionId, "B", "A"),
            ("/flags/autosave/phase", again.MoveId, "A", "B"),
        ], s.FlagCalls().Select(c => (c.Path, c.Key, (string?)c.Body["from_phase"], (string?)c.Body["to_phase"])).ToArray());
        Assert.Single(s.PagerDuty.Requests, r => r.Path == "/v2/enqueue");
        Assert.DoesNotContain(s.PagerDuty.Requests, r => r.Method == "PUT"); // acknowledged in time: never escalated
        Assert.Equal(
            ["approval", "approval", "phase_moved", "approval", "approvals_voided", "approval", "approval", "phase_moved"],
            (await s.AuditAsync()).Select(e => e.Type).ToArray());
    }

    [Fact]
    public async Task An_incident_unacknowledged_for_30_minutes_is_raised_to_P1_and_reposted_to_the_escalation_channel_once()
    {
        await using var s = await LifecycleScenario.StartAsync(T0);
        await EscalationScenarioAsync(s);
    }

    /// <summary>The escalation scenario with its assertions (also run on Azurite by <c>LifecycleAzuriteTests</c>).</summary>
    internal static async Task EscalationScenarioAsync(LifecycleScenario s)
    {
        var violation = await PromoteToBThenViolateAsync(s, 4);
        var triggeredAt = s.Clock.GetUtcNow();
        var key = PagerDutyTriggers.DedupKey(violation);
        Assert.Equal("triggered", s.PagerDuty.IncidentFor(key)!.Status);

        await s.RunWindowsAsync(1); // +15 min: polled, not yet escalated
        Assert.Empty(s.Slack.RequestsTo(Escalation));
        Assert.Null(s.PagerDuty.IncidentFor(key)!.Priority);

        await s.RunWindowsAsync(1); // +30 min: escalated
        var pd = s.PagerDuty.IncidentFor(key)!;
        Assert.Equal("P1", pd.Priority);
        var put = Assert.Single(s.PagerDuty.Requests, r => r.Method == "PUT");
        Assert.Equal(($"/incidents/{pd.Id}", Support.FakePagerDuty.UserEmail), (put.Path, put.Header("From")));
        Assert.Equal("priority_reference", (string?)put.JsonBody()!["incident"]!["priority"]!["type"]);
        var escalated = Assert.Single(s.Slack.RequestsTo(Escalation));
        Assert.Equal(
            $"🔥 AutoSave B incident unacknowledged for 30 min → priority=P1 / incident={violation.DecisionId} (PagerDuty #{pd.Number}) / metric=p95_s / " +
            $"window={Core.Windows.TimeWindow.StartingAt(violation.WindowStart)} / rollback={violation.Rollback!.Command}",
            (string)((JsonObject)escalated.JsonBody()!)["text"]!);
        var incident = Assert.Single((await s.LedgerAsync()).Incidents);
        Assert.Equal((triggeredAt.AddMinutes(30), pd.Id, (DateTimeOffset?)null), (incident.EscalatedAt, incident.PagerDutyId, incident.RespondedAt));

        // Acknowledged at +40 min: recorded, and nothing is escalated again.
        s.Wait(10);
        s.PagerDuty.Acknowledge(key, s.Clock.GetUtcNow());
        await s.RunWindowsAsync(3);
        Assert.Single(s.Slack.RequestsTo(Escalation));
        Assert.Single(s.PagerDuty.Requests, r => r.Method == "PUT");
        Assert.Equal(triggeredAt.AddMinutes(40), (await s.LedgerAsync()).Incidents[0].RespondedAt);
        Assert.Equal([Rollout, Rollout, Incident, Escalation], s.LifecyclePosts().Select(p => p.Hook).ToArray());
        // No secret (webhook tokens, flag token, PagerDuty API token or routing key) in anything stored.
        var stored = s.AllStoredText();
        Assert.All(s.Secrets, secret => Assert.DoesNotContain(secret, stored));
    }

    [Fact]
    public async Task No_RCA_24_hours_after_an_incident_steps_the_phase_back_one_through_the_flag_service()
    {
        await using var s = await LifecycleScenario.StartAsync(T0);
        var violation = await PromoteToBThenViolateAsync(s, 2);
        var triggeredAt = s.Clock.GetUtcNow();
        s.Wait(3);
        s.PagerDuty.Acknowledge(PagerDutyTriggers.DedupKey(violation), s.Clock.GetUtcNow());
        // An RCA that names another incident does not count.
        await s.WriteRcaAsync(new DateOnly(2026, 11, 2), "# RCA\nIncident dec-20261101T0000Z-B-000000000000: slow disk.\n");

        await s.RunWindowsAsync(8);
        s.Wait(2);
        await s.ApproveAsync("B", "sre", "sam.sre"); // pending when the deadline passes

        await s.RunUntilAsync(triggeredAt.AddHours(24).AddMinutes(-1));
        Assert.Equal("A", (await s.StateAsync()).Phase);
        Assert.Empty(s.Slack.RequestsTo(Incident).Skip(1));

        await s.RunWindowsAsync(1); // the first tick at or after +24 h
        var stepId = "rca-" + violation.DecisionId;
        var state = await s.StateAsync();
        Assert.Equal(("off", true, stepId), (state.Phase, state.RollbackActive, state.RollbackDecisionId));
        Assert.Equal(s.Clock.GetUtcNow(), state.LastRollbackAt);
        var rollback = s.FlagCalls()[^1];
        Assert.Equal(("/flags/autosave/rollback", stepId), (rollback.Path, rollback.Key));
        Assert.Equal(new JsonObject { ["from_phase"] = "A", ["to_phase"] = "off", ["reason"] = "rca_overdue", ["decision_id"] = stepId }.ToJsonString(),
            rollback.Body.ToJsonString());
        var pdNumber = s.PagerDuty.IncidentFor(PagerDutyTriggers.DedupKey(violation))!.Number;
        Assert.Equal((Incident, $"⏪ AutoSave RCA overdue for {violation.DecisionId} (PagerDuty #{pdNumber}) (raised {Z(triggeredAt)}) → phase A → off / reason=rca_overdue"),
            s.LifecyclePosts()[^1]);
        var runbook = System.Text.Encoding.UTF8.GetString((await s.Ports.Blobs.TryGetAsync(StorePaths.Runbook))!.Content).TrimEnd('\n').Split('\n');
        Assert.Equal(2, runbook.Length);
        Assert.EndsWith($" {stepId} Rollback invoked: `autosave-rollout rollback --flag autosave --from A --to off --reason \"rca_overdue\" --decision {stepId}` " +
                        "/ initiated_by=autosave-rollout-monitor / reason=rca_overdue", runbook[1]);

        var audit = await s.AuditAsync();
        Assert.Equal(("approvals_voided", "A", stepId), (audit[^2].Type, audit[^2].Phase, audit[^2].Cause));
        Assert.Equal(("phase_stepped_back", "A", "off"), (audit[^1].Type, audit[^1].Phase, audit[^1].Target));
        Assert.Equal([violation.DecisionId], audit[^1].Incidents);
        Assert.NotNull(Assert.Single((await s.LedgerAsync()).Incidents).RcaOverdueAt);

        // Once: later windows (judged off) step nothing back again.
        await s.RunWindowsAsync(4);
        Assert.Equal(3, s.FlagCalls().Count); // A→B, B→A (violation), A→off (rca_overdue), and nothing more
        Assert.All(s.Decisions.TakeLast(4), d => Assert.Equal("off", d.Phase));
    }

    [Fact]
    public async Task A_move_is_blocked_with_its_reasons_until_the_evidence_checks_pass()
    {
        await using var s = await LifecycleScenario.StartAsync(T0);
        var violation = await PromoteToBThenViolateAsync(s, 2);
        var key = PagerDutyTriggers.DedupKey(violation);
        await s.RunWindowsAsync(1);
        s.Wait(5); // acknowledged 20 minutes after the page: too late for the 15-minute rule, early enough not to escalate
        s.PagerDuty.Acknowledge(key, s.Clock.GetUtcNow());
        await s.RunWindowsAsync(7); // A eligible again

        // Someone edits the dashboard's SLO card: its P95 no longer matches the batch.
        var dashboardBlob = (await s.Ports.Blobs.TryGetAsync(StorePaths.Dashboard))!;
        var dashboard = JsonNode.Parse(dashboardBlob.Content)!;
        var card = dashboard["slo_card"]!;
        var shownP95 = (double)card["p95"]! * 1.1;
        card["p95"] = shownP95;
        await s.Ports.Blobs.PutAsync(StorePaths.Dashboard, System.Text.Encoding.UTF8.GetBytes(dashboard.ToJsonString()),
            Core.Ports.WriteCondition.IfMatch(dashboardBlob.ETag));
        var tamperedWindow = Core.Windows.TimeWindow.StartingAt(DateTimeOffset.Parse((string)card["window_start"]!));

        s.Wait(2);
        await s.ApproveAsync("B", "sre", "sam.sre");
        var blocked = await s.ApproveAsync("B", "dev_lead", "dana.dev");
        var pd = s.PagerDuty.IncidentFor(key)!;
        string[] reasons =
        [
            $"incident {violation.DecisionId} (PagerDuty #{pd.Number}) was acknowledged after 20 min (limit 15 min)",
            $"dashboard P95 of window {tamperedWindow} is {ReportPlanner.FormatNumber(shownP95, 3)} s but the batch gives 0.500 s (off by 10% > 5%)",
        ];
        Assert.Equal(MoveOutcome.Blocked, blocked.Outcome);
        Assert.Equal(reasons, blocked.Reasons);
        Assert.Equal(MoveOutcome.Blocked, (await s.Lifecycle.TickAsync()).Outcome); // same reasons: not announced again
        Assert.Equal(reasons, (await s.Lifecycle.GetViewAsync())!.BlockedReasons);

        // Governance waives the late acknowledgement; the dashboard is still wrong.
        await s.Lifecycle.WaiveAcknowledgementAsync(violation.DecisionId, "grace.gov", "acknowledged by phone within 10 min; PagerDuty app outage");
        var stillBlocked = await s.Lifecycle.TickAsync();
        Assert.Equal([reasons[1]], stillBlocked.Reasons);

        // The next window's report rewrites the SLO card from its decision: the checks pass and the move happens.
        await s.RunWindowsAsync(1);
        Assert.Equal("B", (await s.StateAsync()).Phase);

        var blockedPosts = s.LifecyclePosts().Where(p => p.Text.StartsWith("⛔")).ToList();
        Assert.Equal([Rollout, Rollout], blockedPosts.Select(p => p.Hook).ToArray());
        // Slack shows the reasons mrkdwn-escaped ("&gt;" renders as ">").
        Assert.Equal("⛔ AutoSave A → B blocked / reasons=" + SlackText.Escape(string.Join("; ", reasons)), blockedPosts[0].Text);
        Assert.Equal("⛔ AutoSave A → B blocked / reasons=" + SlackText.Escape(reasons[1]), blockedPosts[1].Text);
        Assert.StartsWith("🚀 AutoSave promoted A → B", s.LifecyclePosts()[^1].Text);
        var audit = await s.AuditAsync();
        Assert.Equal(["move_blocked", "evidence_waived", "move_blocked", "phase_moved"], audit.TakeLast(4).Select(e => e.Type).ToArray());
        Assert.Equal(reasons, audit[^4].Reasons);
        Assert.Equal(("grace.gov", "pagerduty_ack"), (audit[^3].Actor, audit[^3].Check));
        Assert.Equal(audit[^5].Id, audit[^1].Approvals![^1]); // the move consumed the approvals given before the block
        Assert.Empty(s.Slack.RequestsTo(Escalation));
    }

    [Fact]
    public async Task A_failing_lifecycle_tick_does_not_fail_the_report_and_the_next_good_tick_catches_up()
    {
        await using var s = await LifecycleScenario.StartAsync(T0);
        await s.RunWindowsAsync(2);
        // A corrupt lifecycle record makes every tick throw.
        await s.Ports.Blobs.PutAsync(StorePaths.Lifecycle, "{not json"u8.ToArray(), Core.Ports.WriteCondition.None);

        await s.RunWindowsAsync(6); // the 8th window makes A eligible: its report and the eligible post still go out
        Assert.Null(await s.Ports.Blobs.TryGetAsync(QueueProcessor.DeadLetterLog)); // no report message was dead-lettered
        Assert.All(s.Decisions, d => Assert.NotNull(s.Ports.Blobs.TryGetAsync(StorePaths.Outbox(Core.Windows.TimeWindow.StartingAt(d.WindowStart))).Result));
        Assert.Single(s.LifecyclePosts(), p => p.Text.StartsWith("🟢 AutoSave A eligible", StringComparison.Ordinal));
        await Assert.ThrowsAnyAsync<System.Text.Json.JsonException>(() => s.Lifecycle.TickAsync());

        await s.Ports.Blobs.DeleteAsync(StorePaths.Lifecycle);
        s.Wait(2);
        await s.ApproveAsync("B", "sre", "sam.sre");
        Assert.Equal(MoveOutcome.Moved, (await s.ApproveAsync("B", "dev_lead", "dana.dev")).Outcome);
    }
}
