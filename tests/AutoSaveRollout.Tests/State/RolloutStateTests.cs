using System.Text.Json;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Tests.Support;
using Xunit;

namespace AutoSaveRollout.Tests.State;

/// <summary>Table tests of every <see cref="RolloutState"/> transition and its refusals (the one model of the rollout).</summary>
public sealed class RolloutStateTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Now = T0.AddHours(5);
    private static readonly PendingOutbox Plan = new("move-x", []);

    private static PromotionStatus Promotion(string phase, DateTimeOffset asOf) => new()
    {
        Phase = phase, Target = "B", Eligible = false, Progress = 1, Required = 8, Approvers = ["sre"], AsOfWindowStart = asOf,
    };

    [Fact]
    public void Start_sets_phase_segment_and_update_time()
    {
        var s = RolloutState.Start("A", T0);
        Assert.Equal(("A", T0, T0, false), (s.Phase, s.PhaseSince, s.UpdatedAt, s.RollbackActive));
        Assert.True(s.IsActive);
    }

    public static TheoryData<string?, string, string?, string, bool> Decisions => new()
    {
        // current phase, judged phase, step back to, expected phase, new segment
        { null, "A", null, "A", true },
        { null, "A", "off", "off", true },
        { "A", "A", null, "A", false },
        { "A", "A", "off", "off", true },
        { "C", "C", "B", "B", true },
        { "B", "C", "B", "B", false }, // judged in C but the state is already B: no second step
        { "B", "B", "A", "A", true },
    };

    [Theory, MemberData(nameof(Decisions))]
    public void ApplyDecision_steps_back_once_per_violation(string? current, string judged, string? stepBackTo, string expected, bool newSegment)
    {
        var before = current is null ? null : StoredStates.Make(current, phaseSince: T0, completedAt: T0.AddHours(1), updatedAt: T0);
        var after = RolloutState.ApplyDecision(before, T0.AddHours(2), judged, stepBackTo, Now);
        Assert.Equal(expected, after.Phase);
        Assert.Equal(T0.AddHours(2), after.LastDecidedWindowStart);
        Assert.Equal(Now, after.UpdatedAt);
        Assert.Equal(newSegment ? Now : T0, after.PhaseSince);
        if (newSegment) Assert.Null(after.CompletedAt); // a step back undoes a sign-off
        else Assert.Equal(T0.AddHours(1), after.CompletedAt);
    }

    [Fact]
    public void ApplyDecision_refuses_a_window_already_applied()
    {
        var s = RolloutState.ApplyDecision(RolloutState.Start("A", T0), T0.AddHours(2), "A", null, Now);
        Assert.Same(s, RolloutState.ApplyDecision(s, T0.AddHours(2), "A", "off", Now));
        Assert.Same(s, RolloutState.ApplyDecision(s, T0.AddHours(1), "A", "off", Now));
    }

    [Fact]
    public void WithPromotionAsOf_keeps_a_newer_eligibility()
    {
        var s = RolloutState.Start("A", T0).WithPromotionAsOf(Promotion("A", T0.AddHours(2)), T0.AddHours(2));
        Assert.Equal(T0.AddHours(2), s.Promotion!.AsOfWindowStart);
        Assert.Same(s, s.WithPromotionAsOf(Promotion("A", T0.AddHours(1)), T0.AddHours(1)));
        Assert.Same(s, s.WithPromotionAsOf(Promotion("A", T0.AddHours(2)), T0.AddHours(2)));
        Assert.Equal(T0.AddHours(3), s.WithPromotionAsOf(Promotion("A", T0.AddHours(3)), T0.AddHours(3)).Promotion!.AsOfWindowStart);
        Assert.Null(s.WithPromotionAsOf(null, T0.AddHours(3)).Promotion); // off: the eligibility goes
        var none = RolloutState.Start("off", T0);
        Assert.Same(none, none.WithPromotionAsOf(null, T0.AddHours(3)));
    }

    [Fact]
    public void RollbackCalled_then_a_clean_later_window_clears_it()
    {
        var s = RolloutState.Start("off", T0).RollbackCalled("dec-1", T0.AddHours(1), T0.AddHours(1.5), Now);
        Assert.Equal((true, "dec-1", T0.AddHours(1), T0.AddHours(1.5)), (s.RollbackActive, s.RollbackDecisionId, s.RollbackWindowStart, s.LastRollbackAt));
        Assert.Same(s, s.RollbackCalled("dec-1", T0.AddHours(1), Now, Now)); // the same decision again
        Assert.Same(s, s.RollbackCalled("dec-0", T0.AddHours(0.5), Now, Now)); // an older window's rollback
        Assert.Same(s, s.ClearRollbackActive(T0.AddHours(1), Now)); // not after the rollback's window
        var cleared = s.ClearRollbackActive(T0.AddHours(1.25), Now);
        Assert.False(cleared.RollbackActive);
        Assert.Equal("dec-1", cleared.RollbackDecisionId);
        Assert.Same(cleared, cleared.ClearRollbackActive(T0.AddHours(2), Now)); // nothing active
    }

    [Fact]
    public void Move_forward_starts_a_segment_and_signoff_keeps_C()
    {
        var a = RolloutState.Start("A", T0);
        var b = a.Move("A", T0, "B", Plan, Promotion("B", T0), Now);
        Assert.Equal(("B", Now, Now, Plan), (b.Phase, b.PhaseSince, b.LastMoveAt, b.Transition));
        Assert.Equal("B", b.Promotion!.Phase);
        var c = RolloutState.Start("C", T0);
        var done = c.Move("C", T0, "complete", Plan, null, Now);
        Assert.Equal(("C", T0, Now, (DateTimeOffset?)Now), (done.Phase, done.PhaseSince, done.LastMoveAt, done.CompletedAt));
        Assert.False(done.IsActive);
    }

    [Fact]
    public void Move_refuses_a_changed_segment_or_a_completed_rollout()
    {
        var a = RolloutState.Start("A", T0);
        Assert.Same(a, a.Move("B", T0, "C", Plan, null, Now));
        Assert.Same(a, a.Move("A", T0.AddMinutes(1), "B", Plan, null, Now));
        var done = RolloutState.Start("C", T0).Move("C", T0, "complete", Plan, null, Now);
        Assert.Same(done, done.Move("C", T0, "complete", Plan, null, Now.AddHours(1)));
    }

    [Fact]
    public void StepBackForOverdueRca_is_a_rollback_and_off_records_only_the_outbox()
    {
        var b = StoredStates.Make("B", phaseSince: T0, completedAt: null, lastDecidedWindowStart: T0.AddHours(4));
        var a = b.StepBackForOverdueRca("rca-1", "A", Plan, Promotion("A", T0), Now);
        Assert.Equal(("A", Now, true, "rca-1", T0.AddHours(4), Now), (a.Phase, a.PhaseSince, a.RollbackActive, a.RollbackDecisionId, a.RollbackWindowStart, a.LastRollbackAt));
        Assert.Equal(Plan, a.Transition);
        var off = RolloutState.Start("off", T0);
        var same = off.StepBackForOverdueRca("rca-2", "off", Plan, null, Now);
        Assert.Equal(("off", T0, false, Plan, Now), (same.Phase, same.PhaseSince, same.RollbackActive, same.Transition, same.UpdatedAt));
    }

    [Fact]
    public void TransitionDone_clears_only_its_own_outbox()
    {
        var s = RolloutState.Start("A", T0).Move("A", T0, "B", Plan, null, Now);
        Assert.Same(s, s.TransitionDone("other"));
        Assert.Null(s.TransitionDone(Plan.Id).Transition);
    }

    [Fact]
    public void ManualRollback_steps_from_the_phase_in_effect_only()
    {
        var a = StoredStates.Make("A", phaseSince: T0, lastDecidedWindowStart: T0.AddHours(1), completedAt: T0);
        var off = RolloutState.ManualRollback(a, "A", "off", "manual-1", Now);
        Assert.Equal(("off", Now, true, "manual-1", T0.AddHours(1), Now), (off.Phase, off.PhaseSince, off.RollbackActive, off.RollbackDecisionId, off.RollbackWindowStart, off.LastRollbackAt));
        Assert.Null(off.CompletedAt);
        Assert.Same(a, RolloutState.ManualRollback(a, "B", "A", "manual-2", Now));
        Assert.Equal("A", RolloutState.ManualRollback(null, "B", "A", "manual-3", Now).Phase);
    }

    [Fact]
    public void Pending_flag_change_holds_the_phase_until_confirmed()
    {
        var a = StoredStates.Make("A", phaseSince: T0, lastDecidedWindowStart: T0.AddHours(1));
        var change = new PendingFlagChange("dec-1", "A", "off", "p95_s violation", Now);
        var pending = a.RequestFlagChange(change, Now);
        Assert.Equal(("A", change), (pending.Phase, pending.PendingFlagChange));
        Assert.Same(pending, pending.RequestFlagChange(change with { Id = "dec-2" }, Now)); // one at a time
        Assert.Same(a, a.RequestFlagChange(change with { From = "B" }, Now)); // not from the phase in effect

        var failed = pending.FlagChangeFailed("dec-1", "flag-service: 503", Now.AddMinutes(1));
        Assert.Equal((1, "flag-service: 503"), (failed.PendingFlagChange!.Attempts, failed.PendingFlagChange.LastError));
        Assert.Same(failed, failed.FlagChangeFailed("other", "x", Now));
        Assert.Same(failed, failed.ConfirmFlagChange("other", Now));

        var confirmed = failed.ConfirmFlagChange("dec-1", Now.AddMinutes(2));
        Assert.Equal(("off", Now.AddMinutes(2), true, "dec-1", (PendingFlagChange?)null), (confirmed.Phase, confirmed.PhaseSince, confirmed.RollbackActive,
            confirmed.RollbackDecisionId, confirmed.PendingFlagChange));

        var forward = StoredStates.Make("A", phaseSince: T0).RequestFlagChange(new PendingFlagChange("move-1", "A", "B", "promotion_approved", Now), Now)
            .ConfirmFlagChange("move-1", Now);
        Assert.Equal(("B", false, (DateTimeOffset?)Now), (forward.Phase, forward.RollbackActive, forward.LastMoveAt));
    }

    [Fact]
    public void Json_round_trips_and_omits_an_absent_pending_change()
    {
        var s = RolloutState.Start("A", T0).Move("A", T0, "B", Plan, Promotion("B", T0), Now);
        var json = JsonSerializer.Serialize(s, Json.Pretty);
        Assert.DoesNotContain("pending_flag_change", json);
        Assert.DoesNotContain("is_active", json);
        Assert.Equal(json, JsonSerializer.Serialize(JsonSerializer.Deserialize<RolloutState>(json, Json.Pretty), Json.Pretty));
        var pending = s.RequestFlagChange(new PendingFlagChange("x", "B", "A", "r", Now), Now);
        Assert.Contains("\"pending_flag_change\"", JsonSerializer.Serialize(pending, Json.Pretty));
    }
}
