using System.Text;
using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Lifecycle;

/// <summary>
/// The pieces of <see cref="LifecycleService"/>: approvals, voiding, the move and its flag-service call, the evidence
/// checks one by one, blocked-move announcements, PagerDuty escalation and the lifecycle outboxes. Embedded store in a
/// temporary folder, real HTTP clients against Kestrel fakes, simulated clock (<see cref="LifecycleRig"/>).
/// </summary>
public sealed class LifecycleServiceTests
{
    private static readonly DateTimeOffset T0 = LifecycleRig.Start;
    private static readonly TimeWindow W = LifecycleRig.Window;
    private const string MoveAB = "move-autosave-A-B-20261119T100000Z";

    private static string Minutes(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", System.Globalization.CultureInfo.InvariantCulture);

    // ---------------------------------------------------------------- approve: validation

    [Fact]
    public async Task Approve_without_any_rollout_state_is_refused()
    {
        await using var rig = await LifecycleRig.StartAsync();
        var ex = await Assert.ThrowsAsync<LifecycleException>(() => rig.ApproveAsync("B", "sre", "alice"));
        Assert.Equal("no rollout state yet: the pipeline has not judged any window", ex.Message);
        Assert.Empty(await rig.AuditAsync());
    }

    [Fact]
    public async Task Approve_in_phase_off_is_refused()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await StoreSeed.StateAsync(rig.Blobs, rig.Policy, "off", LifecycleRig.PhaseStart, W);
        var ex = await Assert.ThrowsAsync<LifecycleException>(() => rig.ApproveAsync("B", "sre", "alice"));
        Assert.Equal("the rollout is off: there is no move to approve (a rollback past A turned the feature off)", ex.Message);
        Assert.Empty(await rig.AuditAsync());
    }

    [Fact]
    public async Task Approve_after_completion_is_refused()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await StoreSeed.StateAsync(rig.Blobs, rig.Policy, "C", LifecycleRig.PhaseStart, W, completedAt: T0.AddHours(-2));
        var ex = await Assert.ThrowsAsync<LifecycleException>(() => rig.ApproveAsync("complete", "governance", "gina"));
        Assert.Equal("the rollout is already complete (signed off 2026-11-20T08:00Z)", ex.Message);
        Assert.Empty(await rig.AuditAsync());
    }

    [Theory]
    [InlineData("A", "C", "sre", "the rollout is in phase A; the next move is to B, not 'C'")]
    [InlineData("A", "complete", "sre", "the rollout is in phase A; the next move is to B, not 'complete'")]
    [InlineData("A", "b", "sre", "the rollout is in phase A; the next move is to B, not 'b'")]
    [InlineData("B", "B", "sre", "the rollout is in phase B; the next move is to C, not 'B'")]
    [InlineData("A", "B", "governance", "A → B is approved by sre, dev_lead; 'governance' is not one of them")]
    [InlineData("A", "B", "SRE", "A → B is approved by sre, dev_lead; 'SRE' is not one of them")]
    [InlineData("B", "C", "dev_lead", "B → C is approved by sre; 'dev_lead' is not one of them")]
    [InlineData("C", "complete", "sre", "C → complete is approved by governance; 'sre' is not one of them")]
    public async Task Approve_of_the_wrong_move_or_by_a_role_the_move_does_not_need_is_refused(string phase, string target, string role, string message)
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync(phase);
        var ex = await Assert.ThrowsAsync<LifecycleException>(() => rig.ApproveAsync(target, role, "alice"));
        Assert.Equal(message, ex.Message);
        Assert.Empty(await rig.AuditAsync());
    }

    [Theory]
    [InlineData("", null, "--approver is required")]
    [InlineData("   ", null, "--approver is required")]
    [InlineData("bob\u0007", null, "--approver must not contain control characters")]
    [InlineData("bob\nalice", null, "--approver must not contain control characters")]
    [InlineData("alice", "", "--evidence is required")]
    [InlineData("alice", "not a url", "--evidence must be an absolute http(s) URL")]
    [InlineData("alice", "/relative/path", "--evidence must be an absolute http(s) URL")]
    [InlineData("alice", "ftp://files.example.com/checklist", "--evidence must be an absolute http(s) URL")]
    [InlineData("alice", "javascript:alert(1)", "--evidence must be an absolute http(s) URL")]
    [InlineData("alice", "https://bob:hunter2@example.com/pr/1", "--evidence must not embed credentials")]
    [InlineData("alice", "https://example.com/pr/1\u0000", "--evidence must not contain control characters")]
    public async Task Approve_with_a_malformed_argument_is_refused_and_records_nothing(string approver, string? evidence, string message)
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var ex = await Assert.ThrowsAsync<LifecycleException>(() => rig.ApproveAsync("B", "sre", approver, evidence));
        Assert.Equal(message, ex.Message);
        Assert.DoesNotContain("hunter2", ex.Message);
        Assert.Empty(await rig.AuditAsync());
    }

    [Fact]
    public async Task An_approver_name_over_100_characters_is_refused_with_its_length()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var ex = await Assert.ThrowsAsync<LifecycleException>(() => rig.ApproveAsync("B", "sre", new string('a', 101)));
        Assert.Equal("--approver is 101 characters; at most 100", ex.Message);
        var ok = await rig.ApproveAsync("B", "sre", " " + new string('a', 100) + " ");
        Assert.Equal(new string('a', 100), ok.Actor);
    }

    // ---------------------------------------------------------------- approve: what is recorded

    [Fact]
    public async Task An_approval_records_who_role_when_evidence_segment_and_policy_hash_and_a_repeat_returns_the_same_entry()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();

        var entry = await rig.ApproveAsync("B", "sre", " alice@example.com ", " https://github.com/org/repo/pull/7#issuecomment-1 ");
        Assert.Equal(("apr-20261120T100000000Z-sre", AuditEntryType.Approval, T0, "autosave", "A", "B", "sre", "alice@example.com"),
            (entry.Id, entry.Type, entry.At, entry.Flag, entry.Phase, entry.Target, entry.Role, entry.Actor));
        Assert.Equal(("https://github.com/org/repo/pull/7#issuecomment-1", LifecycleRig.PhaseStart, rig.Policy.Sha256),
            (entry.Evidence, entry.PhaseSince, entry.PolicySha256));
        Assert.Equal(entry, Assert.Single(await rig.AuditAsync()));

        rig.Time.Advance(TimeSpan.FromMinutes(5));
        var again = await rig.ApproveAsync("B", "sre", "alice@example.com", "https://example.com/other");
        Assert.Equal(entry, again);
        Assert.Single(await rig.AuditAsync());
    }

    [Fact]
    public async Task Two_approvers_of_one_role_at_the_same_instant_are_both_recorded()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();

        var alice = await rig.ApproveAsync("B", "sre", "alice");
        var carol = await rig.ApproveAsync("B", "sre", "carol");

        Assert.Equal("carol", carol.Actor);
        Assert.NotEqual(alice.Id, carol.Id);
        Assert.Equal(["alice", "carol"], (await rig.AuditAsync()).Select(e => e.Actor!).ToArray());
        Assert.Equal(["alice", "carol"], (await rig.Service.GetViewAsync())!.Approvals.Select(a => a.Approver).ToArray());
    }

    [Fact]
    public async Task An_approval_given_again_at_the_instant_of_a_voiding_counts()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        await rig.ApproveAsync("B", "sre", "alice");
        await rig.Service.VoidApprovalsAsync("A", "dec-20261120T0945Z-A-violation");

        var renewed = await rig.ApproveAsync("B", "sre", "alice");

        var view = (await rig.Service.GetViewAsync())!;
        Assert.Equal([renewed.Id], view.Approvals.Select(a => a.Id).ToArray());
        Assert.Equal(["dev_lead"], view.MissingRoles);
        Assert.Equal(3, (await rig.AuditAsync()).Count);
    }

    [Fact]
    public async Task Approvals_from_an_earlier_segment_of_the_phase_do_not_count()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var old = await rig.ApproveAsync("B", "sre", "alice");
        await rig.ApproveAsync("B", "dev_lead", "bob");

        // A new segment of phase A began (as after a step back from B), still eligible as of the latest window.
        rig.Time.Advance(TimeSpan.FromHours(1));
        var segment = rig.Time.GetUtcNow();
        await new JsonRecordStore<RolloutState>(rig.Blobs, StorePaths.RolloutState).UpdateAsync(s => s!.Edit(o => o["phase_since"] = segment));

        var view = (await rig.Service.GetViewAsync())!;
        Assert.Empty(view.Approvals);
        Assert.Equal(["sre", "dev_lead"], view.MissingRoles);
        var attempt = await rig.Service.TickAsync();
        Assert.Equal((MoveOutcome.AwaitingApprovals, "B"), (attempt.Outcome, attempt.Target));
        Assert.Equal(["sre", "dev_lead"], attempt.MissingRoles);
        Assert.Empty(rig.Flags.Requests);

        var fresh = await rig.ApproveAsync("B", "sre", "alice");
        Assert.NotEqual(old.Id, fresh.Id);
        Assert.Equal(segment, fresh.PhaseSince);
        Assert.Equal(["dev_lead"], (await rig.Service.GetViewAsync())!.MissingRoles);
    }

    [Fact]
    public async Task Voiding_writes_one_entry_naming_the_approvals_and_its_cause_and_is_idempotent()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        Assert.Empty(await rig.Service.VoidApprovalsAsync("A", "dec-x"));
        Assert.Empty(await rig.AuditAsync());

        var a = await rig.ApproveAsync("B", "sre", "alice");
        var b = await rig.ApproveAsync("B", "dev_lead", "bob");
        rig.Time.Advance(TimeSpan.FromMinutes(3));
        var voided = await rig.Service.VoidApprovalsAsync("A", "dec-20261120T0945Z-A-abc");
        Assert.Equal([a.Id, b.Id], voided);

        var entry = (await rig.AuditAsync()).Single(e => e.Type == AuditEntryType.ApprovalsVoided);
        Assert.Equal(("void-dec-20261120T0945Z-A-abc-A", "A", "dec-20261120T0945Z-A-abc", T0.AddMinutes(3), rig.Policy.Sha256),
            (entry.Id, entry.Phase, entry.Cause, entry.At, entry.PolicySha256));
        Assert.Equal([a.Id, b.Id], entry.Approvals);

        Assert.Empty(await rig.Service.VoidApprovalsAsync("A", "dec-20261120T0945Z-A-abc"));
        Assert.Empty(await rig.Service.VoidApprovalsAsync("B", "dec-20261120T0945Z-A-abc"));
        Assert.Equal(3, (await rig.AuditAsync()).Count);
        var view = (await rig.Service.GetViewAsync())!;
        Assert.Empty(view.Approvals);
        Assert.Equal(["sre", "dev_lead"], view.MissingRoles);
    }

    // ---------------------------------------------------------------- the move

    [Fact]
    public async Task No_move_without_eligibility_or_with_a_role_missing()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync(eligible: false);
        await rig.ApproveAsync("B", "sre", "alice");

        var attempt = await rig.Service.TickAsync();
        Assert.Equal((MoveOutcome.NotEligible, "A", "B"), (attempt.Outcome, attempt.Phase, attempt.Target));
        Assert.Equal(["dev_lead"], attempt.MissingRoles);

        await rig.SeedEligibleAsync();
        attempt = await rig.Service.TickAsync();
        Assert.Equal(MoveOutcome.AwaitingApprovals, attempt.Outcome);
        Assert.Equal(["dev_lead"], attempt.MissingRoles);

        // Eligible as of an older window than the latest decided one (its report is not in yet): wait.
        await rig.ApproveAsync("B", "dev_lead", "bob");
        await new JsonRecordStore<RolloutState>(rig.Blobs, StorePaths.RolloutState).UpdateAsync(s => s!.Edit(o => o["last_decided_window_start"] = W.Next.Start));
        Assert.Equal(MoveOutcome.NotEligible, (await rig.Service.TickAsync()).Outcome);

        // Eligibility computed for another phase than the one in effect does not count.
        await new JsonRecordStore<RolloutState>(rig.Blobs, StorePaths.RolloutState).UpdateAsync(s => s!.Edit(o =>
        {
            o["phase"] = "B";
            o["last_decided_window_start"] = W.Start;
        }));
        await rig.ApproveAsync("C", "sre", "alice");
        Assert.Equal(MoveOutcome.NotEligible, (await rig.Service.TickAsync()).Outcome);

        Assert.Empty(rig.Flags.Requests);
        Assert.Empty(rig.Slack.Requests);
        Assert.DoesNotContain(await rig.AuditAsync(), e => e.Type == AuditEntryType.PhaseMoved || e.Type == AuditEntryType.MoveBlocked);
    }

    [Fact]
    public async Task An_eligible_approved_move_calls_the_flag_service_posts_audits_and_starts_the_next_phase()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var sre = await rig.ApproveAsync("B", "sre", "alice");
        rig.Time.Advance(TimeSpan.FromMinutes(2));
        var dev = await rig.ApproveAsync("B", "dev_lead", "bob");
        rig.Time.Advance(TimeSpan.FromMinutes(1));
        var now = rig.Time.GetUtcNow();

        var attempt = await rig.Service.TickAsync();

        Assert.Equal((MoveOutcome.Moved, "A", "B", MoveAB), (attempt.Outcome, attempt.Phase, attempt.Target, attempt.MoveId));
        var call = Assert.Single(rig.Flags.Requests);
        Assert.Equal(("POST", "/flags/autosave/phase"), (call.Method, call.Path));
        Assert.Equal(MoveAB, call.Header("Idempotency-Key"));
        Assert.Equal("Bearer " + LifecycleRig.FlagToken, call.Header("Authorization"));
        var body = (JsonObject)call.JsonBody()!;
        Assert.Equal(["from_phase", "to_phase", "reason", "move_id"], body.Select(p => p.Key).ToArray());
        Assert.Equal(("A", "B", "promotion_approved", MoveAB),
            ((string?)body["from_phase"], (string?)body["to_phase"], (string?)body["reason"], (string?)body["move_id"]));

        Assert.Equal([$"🚀 AutoSave promoted A → B / exposure=30% / approved_by=sre=alice,dev_lead=bob / evidence=passed / move={MoveAB}"],
            rig.Posts(LifecycleRig.RolloutHook));
        Assert.Empty(rig.Slack.RequestsTo(LifecycleRig.IncidentHook));

        var moved = (await rig.AuditAsync()).Single(e => e.Type == AuditEntryType.PhaseMoved);
        Assert.Equal((MoveAB, "A", "B", LifecycleRig.PhaseStart, now), (moved.Id, moved.Phase, moved.Target, moved.PhaseSince, moved.At));
        Assert.Equal([sre.Id, dev.Id], moved.Approvals);

        var state = await StoreSeed.ReadStateAsync(rig.Blobs);
        Assert.Equal(("B", now, now, (DateTimeOffset?)null), (state.Phase, state.PhaseSince, state.LastMoveAt, state.CompletedAt));
        Assert.Null(state.Transition);
        Assert.Equal(("B", "C", false, 0, 96, (DateTimeOffset?)null),
            (state.Promotion!.Phase, state.Promotion.Target, state.Promotion.Eligible, state.Promotion.Progress, state.Promotion.Required,
                state.Promotion.AsOfWindowStart));

        // The approvals were consumed; the next move starts from nothing.
        var view = (await rig.Service.GetViewAsync())!;
        Assert.Equal(("B", "C", now), (view.Phase, view.Target, view.PhaseSince));
        Assert.Empty(view.Approvals);
        Assert.Equal(["sre"], view.MissingRoles);
        var dashboard = JsonNode.Parse(rig.ReadText(StorePaths.Dashboard)!)!;
        Assert.Equal(("B", "C"), ((string?)dashboard["phase"], (string?)dashboard["lifecycle"]!["target"]));

        // Nothing happens twice.
        Assert.Equal(MoveOutcome.NotEligible, (await rig.Service.TickAsync()).Outcome);
        Assert.Single(rig.Flags.Requests);
        Assert.Single(rig.Slack.Requests);
        Assert.Single(await rig.AuditAsync(), e => e.Type == AuditEntryType.PhaseMoved);
    }

    [Fact]
    public async Task Governance_sign_off_completes_the_rollout_in_phase_C()
    {
        await using var rig = await LifecycleRig.StartAsync();
        var since = new DateTimeOffset(2026, 11, 20, 0, 30, 0, TimeSpan.Zero); // today: no phase C daily report is due for yesterday
        await StoreSeed.StateAsync(rig.Blobs, rig.Policy, "C", since, W, lastMoveAt: since);
        await StoreSeed.DecisionAndDashboardAsync(rig.Blobs, W, "C", T0);
        var gina = await rig.ApproveAsync("complete", "governance", "gina", "https://example.com/signoff");

        var attempt = await rig.Service.TickAsync();

        const string moveId = "move-autosave-C-complete-20261120T003000Z";
        Assert.Equal((MoveOutcome.Moved, "C", "complete", moveId), (attempt.Outcome, attempt.Phase, attempt.Target, attempt.MoveId));
        var call = Assert.Single(rig.Flags.Requests);
        Assert.Equal(("/flags/autosave/phase", moveId), (call.Path, call.Header("Idempotency-Key")));
        Assert.Equal(("C", "complete", moveId), ((string?)call.JsonBody()!["from_phase"], (string?)call.JsonBody()!["to_phase"], (string?)call.JsonBody()!["move_id"]));
        Assert.Equal([$"🚀 AutoSave promoted C → complete / exposure=100% / approved_by=governance=gina / evidence=passed / move={moveId}"],
            rig.Posts(LifecycleRig.RolloutHook));
        var moved = (await rig.AuditAsync()).Single(e => e.Type == AuditEntryType.PhaseMoved);
        Assert.Equal(("C", "complete"), (moved.Phase, moved.Target));
        Assert.Equal([gina.Id], moved.Approvals);

        var state = await StoreSeed.ReadStateAsync(rig.Blobs);
        Assert.Equal(("C", (DateTimeOffset?)T0, (DateTimeOffset?)T0, (DateTimeOffset?)since), (state.Phase, state.CompletedAt, state.LastMoveAt, state.PhaseSince));
        Assert.Null(state.Transition);
        var view = (await rig.Service.GetViewAsync())!;
        Assert.Equal(("C", (string?)null, (DateTimeOffset?)T0), (view.Phase, view.Target, view.CompletedAt));
        Assert.Empty(view.RequiredRoles);

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(MoveOutcome.None, (await rig.Service.TickAsync()).Outcome);
        var ex = await Assert.ThrowsAsync<LifecycleException>(() => rig.ApproveAsync("complete", "governance", "gina"));
        Assert.Equal("the rollout is already complete (signed off 2026-11-20T10:00Z)", ex.Message);
        Assert.Single(rig.Flags.Requests);
    }

    [Fact]
    public async Task A_tick_while_another_holds_the_lifecycle_lock_does_nothing()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        await rig.ApproveAsync("B", "sre", "alice");
        await rig.ApproveAsync("B", "dev_lead", "bob");

        await using (var held = await rig.Locks.TryAcquireAsync(LifecycleService.LockName, TimeSpan.FromSeconds(60)))
        {
            Assert.NotNull(held);
            var attempt = await rig.Service.TickAsync();
            Assert.Equal((MoveOutcome.None, (string?)null), (attempt.Outcome, attempt.Phase));
            Assert.Empty(rig.Flags.Requests);
            Assert.Equal("A", (await StoreSeed.ReadStateAsync(rig.Blobs)).Phase);
        }
        Assert.Equal(MoveOutcome.Moved, (await rig.Service.TickAsync()).Outcome);
    }

    // ---------------------------------------------------------------- evidence: PagerDuty acknowledgement

    [Fact]
    public async Task An_unacknowledged_incident_fails_the_acknowledgement_check()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var incident = StoreSeed.Incident(W, "A", T0);
        await rig.TriggerAsync(incident.DedupKey);
        await rig.Service.RecordIncidentAsync(incident);
        rig.Time.Advance(TimeSpan.FromMinutes(5));

        Assert.Equal([$"incident {incident.Id} (PagerDuty #1) is not acknowledged (due within 15 min)"], await rig.Service.CheckEvidenceAsync());
        var stored = Assert.Single(await StoreSeed.ReadLedgerAsync(rig.Blobs));
        Assert.Equal(("PINC0001", 1, "triggered", (DateTimeOffset?)T0), (stored.PagerDutyId, stored.PagerDutyNumber, stored.PagerDutyStatus, stored.PagerDutyCreatedAt));

        // Acknowledged in time: the check passes.
        rig.PagerDuty.Acknowledge(incident.DedupKey, T0.AddMinutes(14));
        Assert.Empty(await rig.Service.CheckEvidenceAsync());
        Assert.Equal(T0.AddMinutes(14), Assert.Single(await StoreSeed.ReadLedgerAsync(rig.Blobs)).RespondedAt);
    }

    [Fact]
    public async Task Incidents_before_the_last_move_and_dry_run_incidents_are_not_checked_for_acknowledgement()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync(lastMoveAt: T0.AddMinutes(1));
        var before = StoreSeed.Incident(W, "A", T0);
        var dry = StoreSeed.Incident(W.Next, "A", T0.AddMinutes(2), dryRun: true);
        await rig.TriggerAsync(before.DedupKey); // never acknowledged
        await StoreSeed.LedgerAsync(rig.Blobs, before, dry);
        rig.Time.Advance(TimeSpan.FromMinutes(40));

        Assert.Empty(await rig.Service.CheckEvidenceAsync());
    }

    [Fact]
    public async Task A_late_acknowledgement_fails_the_check_until_governance_waives_it()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var incident = StoreSeed.Incident(W, "A", T0);
        await rig.TriggerAsync(incident.DedupKey);
        await rig.Service.RecordIncidentAsync(incident);
        rig.PagerDuty.Acknowledge(incident.DedupKey, T0.AddMinutes(20));
        rig.Time.Advance(TimeSpan.FromMinutes(21));

        var late = $"incident {incident.Id} (PagerDuty #1) was acknowledged after 20 min (limit 15 min)";
        Assert.Equal([late], await rig.Service.CheckEvidenceAsync());
        Assert.Equal([late], await rig.Service.CheckEvidenceAsync()); // from the ledger now, same verdict

        var unknown = await Assert.ThrowsAsync<LifecycleException>(() => rig.Service.WaiveAcknowledgementAsync("PNOPE", "gina", "reason"));
        Assert.Equal("no incident 'PNOPE' in the ledger (state/incidents.json)", unknown.Message);
        var empty = await Assert.ThrowsAsync<LifecycleException>(() => rig.Service.WaiveAcknowledgementAsync(incident.Id, "gina", " "));
        Assert.Equal("--reason is required", empty.Message);

        // Named by its PagerDuty number, as people quote it.
        var waiver = await rig.Service.WaiveAcknowledgementAsync("#1", "gina", "responder was paged on the wrong rota; fixed in OPS-12");
        Assert.Equal(($"waive-{incident.Id}-pagerduty_ack", AuditEntryType.EvidenceWaived, "governance", "gina", "pagerduty_ack", "A"),
            (waiver.Id, waiver.Type, waiver.Role, waiver.Actor, waiver.Check, waiver.Phase));
        Assert.Equal([incident.Id], waiver.Incidents);
        Assert.Empty(await rig.Service.CheckEvidenceAsync());
        var again = await rig.Service.WaiveAcknowledgementAsync(incident.Id, "gina", "again");
        Assert.Equal((waiver.Id, waiver.Note), (again.Id, again.Note));
        Assert.Single(await rig.AuditAsync());
    }

    [Fact]
    public async Task Without_the_PagerDuty_REST_API_an_incident_cannot_be_verified()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var incident = StoreSeed.Incident(W, "A", T0);
        await StoreSeed.LedgerAsync(rig.Blobs, incident);
        var service = rig.Create(withPagerDuty: false);

        Assert.Equal([$"cannot verify that incident {incident.Id} was acknowledged within 15 min: the PagerDuty REST API is not configured (PagerDuty:ApiToken)"],
            await service.CheckEvidenceAsync());
        Assert.Equal([$"incident {incident.Id} was not found in PagerDuty (incident_key {incident.DedupKey})"], await rig.Service.CheckEvidenceAsync());
    }

    // ---------------------------------------------------------------- evidence: retry failures

    [Fact]
    public async Task An_unreviewed_retry_failure_fails_the_check_until_it_is_reviewed()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var failed = TimeWindow.StartingAt(T0.AddHours(-1));
        await StoreSeed.RetryFailureAsync(rig.Blobs, failed, T0.AddMinutes(-40));
        await StoreSeed.RetryFailureAsync(rig.Blobs, failed, T0.AddMinutes(-20)); // given up on twice: one reason
        await StoreSeed.RetryFailureAsync(rig.Blobs, TimeWindow.StartingAt(T0.AddDays(-3)), T0.AddDays(-3)); // before the last move
        await new JsonRecordStore<RolloutState>(rig.Blobs, StorePaths.RolloutState).UpdateAsync(s => s!.Edit(o => o["last_move_at"] = T0.AddDays(-2)));

        Assert.Equal([$"retry failure of window {failed} is not reviewed (review-failure --window 2026-11-20T09:00Z)"], await rig.Service.CheckEvidenceAsync());

        var missing = await Assert.ThrowsAsync<LifecycleException>(() =>
            rig.Service.ReviewRetryFailureAsync(failed.Next.Start, "ana", "cause", "OPS-1"));
        Assert.Equal($"no retry failure is recorded for window {failed.Next} (see reports/monitoring/retry_failures.jsonl)", missing.Message);
        var blank = await Assert.ThrowsAsync<LifecycleException>(() => rig.Service.ReviewRetryFailureAsync(failed.Start, "ana", "cause", ""));
        Assert.Equal("--task is required", blank.Message);

        var review = await rig.Service.ReviewRetryFailureAsync(failed.Start, "ana", "telemetry endpoint DNS outage", "https://tracker.example.com/OPS-1");
        Assert.Equal(("rev-20261120T0900Z", AuditEntryType.RetryFailureReviewed, "ana", (DateTimeOffset?)failed.Start, "telemetry endpoint DNS outage",
                "https://tracker.example.com/OPS-1"),
            (review.Id, review.Type, review.Actor, review.WindowStart, review.Note, review.Link));
        Assert.Empty(await rig.Service.CheckEvidenceAsync());
        Assert.Equal(review, await rig.Service.ReviewRetryFailureAsync(failed.Start, "bea", "other", "OPS-2"));
        Assert.Single(await rig.AuditAsync());
    }

    // ---------------------------------------------------------------- evidence: RCA

    [Fact]
    public async Task An_incident_older_than_24_hours_needs_an_RCA_naming_it_dated_from_its_day_on()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var incident = StoreSeed.Incident(W, "A", T0, dryRun: true); // dry-run: no acknowledgement to check, but an RCA is still due
        await StoreSeed.LedgerAsync(rig.Blobs, incident);

        rig.Time.Advance(TimeSpan.FromHours(24) - TimeSpan.FromMinutes(1));
        Assert.Empty(await rig.Service.CheckEvidenceAsync());
        rig.Time.Advance(TimeSpan.FromMinutes(1)); // due at exactly 24 h, as the step back
        var reason = $"no RCA names incident {incident.Id} (reports/rca/<date>.md), due 2026-11-21T10:00Z";
        Assert.Equal([reason], await rig.Service.CheckEvidenceAsync());
        rig.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal([reason], await rig.Service.CheckEvidenceAsync());

        await rig.Blobs.PutAsync(StorePaths.Rca(new DateOnly(2026, 11, 19)), Encoding.UTF8.GetBytes($"# RCA\n{incident.Id}\n"), WriteCondition.None);
        await rig.Blobs.PutAsync(StorePaths.Rca(new DateOnly(2026, 11, 21)), Encoding.UTF8.GetBytes("# RCA\nincident dec-20261120T0915Z-A-000000000000\n"),
            WriteCondition.None);
        Assert.Equal([reason], await rig.Service.CheckEvidenceAsync());

        await rig.Blobs.PutAsync(StorePaths.Rca(new DateOnly(2026, 11, 21)),
            Encoding.UTF8.GetBytes($"# RCA\nincident dec-20261120T0915Z-A-000000000000\n\n---\n\n# RCA\nPagerDuty incident_key {incident.DedupKey}: slow disk\n"),
            WriteCondition.None);
        Assert.Empty(await rig.Service.CheckEvidenceAsync());
    }

    // ---------------------------------------------------------------- evidence: dashboard

    [Theory]
    [InlineData(1.0, 4.0, 1.0, 4.0, "")]
    [InlineData(1.04, 4.19, 0.96, 3.81, "")]
    [InlineData(1.05, 4.2, 0.95, 3.8, "")] // exactly ±5%: the rule is |shown − recomputed| ≤ 0.05 × |recomputed|
    [InlineData(1.06, 4.0, 1.0, 4.0, "P95")]
    [InlineData(1.0, 4.0, 1.0, 4.3, "err")]
    [InlineData(1.06, 4.3, 1.06, 4.3, "P95|err")]
    public async Task Dashboard_values_must_be_within_5_percent_of_a_recomputation_from_the_batch(double cardP95, double cardErr, double recentP95,
        double recentErr, string expected)
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        await StoreSeed.DashboardAsync(rig.Blobs, W, "A", T0, cardP95, cardErr, recentP95, recentErr);

        var reasons = await rig.Service.CheckEvidenceAsync();

        var all = new Dictionary<string, string>
        {
            ["P95"] = $"dashboard P95 of window {W} is 1.060 s but the batch gives 1.000 s (off by 6% > 5%)",
            ["err"] = $"dashboard error rate of window {W} is 4.30% but the batch gives 4.00% (off by 7.5% > 5%)",
        };
        Assert.Equal(expected.Split('|', StringSplitOptions.RemoveEmptyEntries).Select(k => all[k]).ToArray(), reasons);
    }

    [Fact]
    public async Task A_batch_changed_since_its_decision_fails_on_its_SHA_256_even_when_the_values_agree()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        await rig.Blobs.PutAsync(StorePaths.Batch(W), StoreSeed.Batch("{\"event\":\"autosave.page.view\",\"event_id\":\"x1\"}"), WriteCondition.None);

        Assert.Equal([$"dashboard window {W}: batch {StorePaths.Batch(W)} changed since its decision (SHA-256 differs)"], await rig.Service.CheckEvidenceAsync());

        await rig.Blobs.DeleteAsync(StorePaths.Batch(W));
        Assert.Equal([$"dashboard window {W}: batch {StorePaths.Batch(W)} is missing"], await rig.Service.CheckEvidenceAsync());
        await rig.Blobs.DeleteAsync(StorePaths.Dashboard);
        Assert.Equal(["no dashboard to check (reports/monitoring/dashboard.json is missing)"], await rig.Service.CheckEvidenceAsync());
    }

    // ---------------------------------------------------------------- blocked moves

    [Fact]
    public async Task A_blocked_move_is_announced_once_per_distinct_set_of_reasons_and_moves_once_they_are_resolved()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        var sre = await rig.ApproveAsync("B", "sre", "alice");
        var dev = await rig.ApproveAsync("B", "dev_lead", "bob");
        var first = TimeWindow.StartingAt(T0.AddHours(-2));
        var second = TimeWindow.StartingAt(T0.AddHours(-1));
        await StoreSeed.RetryFailureAsync(rig.Blobs, first, T0.AddMinutes(-100));
        var r1 = $"retry failure of window {first} is not reviewed (review-failure --window 2026-11-20T08:00Z)";
        var r2 = $"retry failure of window {second} is not reviewed (review-failure --window 2026-11-20T09:00Z)";

        var attempt = await rig.Service.TickAsync();
        Assert.Equal((MoveOutcome.Blocked, "B"), (attempt.Outcome, attempt.Target));
        Assert.Equal([r1], attempt.Reasons);
        rig.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal([r1], (await rig.Service.TickAsync()).Reasons);
        Assert.Equal([$"⛔ AutoSave A → B blocked / reasons={r1}"], rig.Posts(LifecycleRig.RolloutHook));
        var blocked = Assert.Single(await rig.AuditAsync(), e => e.Type == AuditEntryType.MoveBlocked);
        Assert.Equal(("A", "B", (DateTimeOffset?)LifecycleRig.PhaseStart), (blocked.Phase, blocked.Target, blocked.PhaseSince));
        Assert.Equal([r1], blocked.Reasons);
        Assert.Equal([sre.Id, dev.Id], blocked.Approvals);
        Assert.Equal([r1], (await rig.Service.GetViewAsync())!.BlockedReasons);

        await StoreSeed.RetryFailureAsync(rig.Blobs, second, T0.AddMinutes(-40));
        rig.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal([r1, r2], (await rig.Service.TickAsync()).Reasons);
        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Service.TickAsync();
        Assert.Equal([$"⛔ AutoSave A → B blocked / reasons={r1}", $"⛔ AutoSave A → B blocked / reasons={r1}; {r2}"], rig.Posts(LifecycleRig.RolloutHook));
        Assert.Equal(2, (await rig.AuditAsync()).Count(e => e.Type == AuditEntryType.MoveBlocked));
        Assert.Equal([r1, r2], (await rig.Service.GetViewAsync())!.BlockedReasons);
        Assert.Empty(rig.Flags.Requests);

        await rig.Service.ReviewRetryFailureAsync(first.Start, "ana", "cause", "OPS-1");
        await rig.Service.ReviewRetryFailureAsync(second.Start, "ana", "cause", "OPS-2");
        Assert.Equal(MoveOutcome.Moved, (await rig.Service.TickAsync()).Outcome);
        Assert.Null((await rig.Service.GetViewAsync())!.BlockedReasons);
        Assert.Single(rig.Flags.Requests);
        Assert.Equal(3, rig.Posts(LifecycleRig.RolloutHook).Count);
    }

    [Fact]
    public async Task Blocked_reasons_are_shown_only_for_the_phase_segment_they_were_found_in()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        await rig.ApproveAsync("B", "sre", "alice");
        await rig.ApproveAsync("B", "dev_lead", "bob");
        await StoreSeed.RetryFailureAsync(rig.Blobs, TimeWindow.StartingAt(T0.AddHours(-2)), T0.AddMinutes(-100));
        Assert.Equal(MoveOutcome.Blocked, (await rig.Service.TickAsync()).Outcome);
        Assert.NotNull((await rig.Service.GetViewAsync())!.BlockedReasons);

        // A violation rolled the phase back and voided the approvals: a new segment, in which no move was attempted yet.
        rig.Time.Advance(TimeSpan.FromMinutes(20));
        await rig.Service.VoidApprovalsAsync("A", "dec-violation");
        await new JsonRecordStore<RolloutState>(rig.Blobs, StorePaths.RolloutState).UpdateAsync(s => s!.Edit(o => o["phase_since"] = rig.Time.GetUtcNow()));
        Assert.Equal(MoveOutcome.AwaitingApprovals, (await rig.Service.TickAsync()).Outcome);

        var view = (await rig.Service.GetViewAsync())!;
        Assert.Null(view.BlockedReasons);
        Assert.Null(JsonNode.Parse(rig.ReadText(StorePaths.Dashboard)!)!["lifecycle"]!["blocked_reasons"]);
    }

    // ---------------------------------------------------------------- escalation

    [Fact]
    public async Task An_incident_unacknowledged_for_30_minutes_is_raised_to_P1_and_reposted_to_the_escalation_channel_once()
    {
        await using var rig = await LifecycleRig.StartAsync();
        var incident = StoreSeed.Incident(W, "A", T0);
        await rig.TriggerAsync(incident.DedupKey);
        await rig.Service.RecordIncidentAsync(incident);

        rig.Time.Advance(TimeSpan.FromMinutes(29));
        await rig.Service.TickAsync();
        Assert.DoesNotContain(rig.PagerDuty.Requests, r => r.Method == "PUT");
        Assert.Empty(rig.Slack.Requests);
        Assert.Null(rig.PagerDuty.IncidentFor(incident.DedupKey)!.Priority);

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Service.TickAsync();
        var put = Assert.Single(rig.PagerDuty.Requests, r => r.Method == "PUT");
        Assert.Equal(("/incidents/PINC0001", FakePagerDuty.UserEmail), (put.Path, put.Header("From")));
        Assert.Equal("P1", rig.PagerDuty.IncidentFor(incident.DedupKey)!.Priority);
        Assert.Empty(rig.PagerDuty.Rejections);
        Assert.Equal([$"🔥 AutoSave A incident unacknowledged for 30 min → priority=P1 / incident={incident.Id} (PagerDuty #1) / metric=p95_s / window={W} / rollback={incident.Command}"],
            rig.Posts(LifecycleRig.EscalationHook));
        Assert.Empty(rig.Slack.RequestsTo(LifecycleRig.RolloutHook));
        Assert.Equal(T0.AddMinutes(30), Assert.Single(await StoreSeed.ReadLedgerAsync(rig.Blobs)).EscalatedAt);

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Service.TickAsync();
        rig.Time.Advance(TimeSpan.FromHours(2));
        await rig.Service.TickAsync();
        Assert.Single(rig.PagerDuty.Requests, r => r.Method == "PUT");
        Assert.Single(rig.Slack.RequestsTo(LifecycleRig.EscalationHook));
    }

    [Fact]
    public async Task An_incident_acknowledged_within_30_minutes_is_not_escalated()
    {
        await using var rig = await LifecycleRig.StartAsync();
        var incident = StoreSeed.Incident(W, "A", T0);
        await rig.TriggerAsync(incident.DedupKey);
        await rig.Service.RecordIncidentAsync(incident);
        rig.PagerDuty.Acknowledge(incident.DedupKey, T0.AddMinutes(25));

        rig.Time.Advance(TimeSpan.FromMinutes(45));
        await rig.Service.TickAsync();

        Assert.DoesNotContain(rig.PagerDuty.Requests, r => r.Method == "PUT");
        Assert.Empty(rig.Slack.Requests);
        var stored = Assert.Single(await StoreSeed.ReadLedgerAsync(rig.Blobs));
        Assert.Equal((T0.AddMinutes(25), (DateTimeOffset?)null), (stored.RespondedAt, stored.EscalatedAt));
    }

    // ---------------------------------------------------------------- lifecycle outboxes

    [Fact]
    public async Task A_failed_promotion_post_is_retried_by_the_next_tick_without_repeating_the_flag_call()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        await rig.ApproveAsync("B", "sre", "alice");
        await rig.ApproveAsync("B", "dev_lead", "bob");
        rig.Slack.Enqueue(LifecycleRig.RolloutHook, ScriptedResponse.Text(500, "internal_error"));

        Assert.Equal(MoveOutcome.Moved, (await rig.Service.TickAsync()).Outcome);
        var state = await StoreSeed.ReadStateAsync(rig.Blobs);
        Assert.Equal(("B", MoveAB), (state.Phase, state.Transition?.Id));
        var outbox = JsonNode.Parse(rig.ReadText(StorePaths.LifecycleOutbox(MoveAB))!)!["actions"]!.AsArray();
        Assert.Equal(["done", "failed"], outbox.Select(a => (string)a!["status"]!).ToArray());

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Service.TickAsync();
        Assert.Single(rig.Flags.Requests);
        var promoted = $"🚀 AutoSave promoted A → B / exposure=30% / approved_by=sre=alice,dev_lead=bob / evidence=passed / move={MoveAB}";
        Assert.Equal([promoted, promoted], rig.Posts(LifecycleRig.RolloutHook));
        Assert.Null((await StoreSeed.ReadStateAsync(rig.Blobs)).Transition);

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Service.TickAsync();
        Assert.Single(rig.Flags.Requests);
        Assert.Equal(2, rig.Slack.RequestsTo(LifecycleRig.RolloutHook).Count);
    }

    [Fact]
    public async Task A_failed_escalation_post_is_retried_by_the_next_tick_without_raising_the_priority_again()
    {
        await using var rig = await LifecycleRig.StartAsync();
        var incident = StoreSeed.Incident(W, "A", T0);
        await rig.TriggerAsync(incident.DedupKey);
        await rig.Service.RecordIncidentAsync(incident);
        rig.Slack.Enqueue(LifecycleRig.EscalationHook, ScriptedResponse.Text(503, "service_unavailable"));
        var progress = new JsonRecordStore<LifecycleProgress>(rig.Blobs, StorePaths.Lifecycle);

        rig.Time.Advance(TimeSpan.FromMinutes(30));
        await rig.Service.TickAsync();
        Assert.Equal([$"esc-{incident.Id}"], (await progress.ReadAsync()).Value!.PendingOutboxes.Select(p => p.Id).ToArray());

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Service.TickAsync();
        Assert.Empty((await progress.ReadAsync()).Value!.PendingOutboxes);
        var posts = rig.Posts(LifecycleRig.EscalationHook);
        Assert.Equal(2, posts.Count);
        Assert.Equal(posts[0], posts[1]);
        Assert.Single(rig.PagerDuty.Requests, r => r.Method == "PUT");

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Service.TickAsync();
        Assert.Equal(2, rig.Slack.RequestsTo(LifecycleRig.EscalationHook).Count);
        Assert.Single(rig.PagerDuty.Requests, r => r.Method == "PUT");
    }

    [Fact]
    public async Task An_unfinished_promotion_outbox_is_still_completed_after_an_RCA_step_back_replaces_it_in_the_state()
    {
        await using var rig = await LifecycleRig.StartAsync();
        await rig.SeedEligibleAsync();
        await StoreSeed.LedgerAsync(rig.Blobs, StoreSeed.Incident(W.Previous, "A", T0.AddHours(-23), dryRun: true));
        await rig.ApproveAsync("B", "sre", "alice");
        await rig.ApproveAsync("B", "dev_lead", "bob");
        rig.Slack.Enqueue(LifecycleRig.RolloutHook, ScriptedResponse.Text(500, "internal_error"), ScriptedResponse.Text(500, "internal_error"));

        Assert.Equal(MoveOutcome.Moved, (await rig.Service.TickAsync()).Outcome); // the promoted post fails
        rig.Time.Advance(TimeSpan.FromHours(1));
        await rig.Service.TickAsync(); // its retry fails again; the RCA is now overdue: B → A
        Assert.Equal("A", (await StoreSeed.ReadStateAsync(rig.Blobs)).Phase);
        Assert.Equal(["/flags/autosave/phase", "/flags/autosave/rollback"], rig.Flags.Requests.Select(r => r.Path).ToArray());

        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Service.TickAsync();
        rig.Time.Advance(TimeSpan.FromMinutes(1));
        await rig.Service.TickAsync();

        var promoted = $"🚀 AutoSave promoted A → B / exposure=30% / approved_by=sre=alice,dev_lead=bob / evidence=passed / move={MoveAB}";
        Assert.Equal([promoted, promoted, promoted], rig.Posts(LifecycleRig.RolloutHook));
        Assert.Equal("done", (string?)JsonNode.Parse(rig.ReadText(StorePaths.LifecycleOutbox(MoveAB))!)!["actions"]![1]!["status"]);
        Assert.Empty((await new JsonRecordStore<LifecycleProgress>(rig.Blobs, StorePaths.Lifecycle).ReadAsync()).Value!.PendingOutboxes);
        Assert.Equal(2, rig.Flags.Requests.Count);
    }
}
