using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.State;

namespace AutoSaveRollout.Tests.Lifecycle;

public sealed class PromotionEligibilityTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 20, 8, 0, 0, TimeSpan.Zero);
    private static readonly PromotionRule Three = new(3, null, ApproverRoles.Sre, false, false);

    /// <summary>
    /// Windows from <see cref="T0"/> on, one token per 15 minutes: <c>ok</c>, <c>warn</c>, <c>inc</c> (inconclusive),
    /// <c>vio</c> (violation), <c>off</c>, <c>-</c> (missing window); <c>B:ok</c> judged in another phase (default A).
    /// </summary>
    private static List<WindowOutcome> Windows(string tokens)
    {
        var list = new List<WindowOutcome>();
        var parts = tokens.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < parts.Length; i++)
        {
            if (parts[i] == "-") continue;
            var (phase, status) = parts[i].Contains(':') ? (parts[i].Split(':')[0], parts[i].Split(':')[1]) : ("A", parts[i]);
            list.Add(new WindowOutcome(T0.AddMinutes(15 * i), phase, status == "inc" ? "inconclusive" : status == "vio" ? "violation" : status));
        }
        return list;
    }

    /// <summary>Rule "3 windows" in phase A: tokens → progress, eligible, since (window index or -1), became eligible.</summary>
    public static TheoryData<string, int, bool, int, bool> Table => new()
    {
        { "", 0, false, -1, false },
        { "ok", 1, false, 0, false },
        { "ok warn", 2, false, 0, false },
        { "ok warn ok", 3, true, 0, true },                 // the third compliant window completes the streak
        { "ok warn ok ok", 3, true, 1, false },             // already eligible at the window before: nothing new
        { "ok inc ok", 2, false, 0, false },                // inconclusive neither advances …
        { "ok inc ok inc ok", 3, true, 0, true },           // … nor resets
        { "ok ok ok inc", 3, true, 0, false },              // an inconclusive window after eligibility announces nothing
        { "ok ok vio ok", 1, false, 3, false },             // a violation resets
        { "ok ok - ok", 1, false, 3, false },               // a missing window breaks continuity
        { "ok ok - ok ok ok", 3, true, 3, true },           // … and a new streak after it can become eligible
        { "ok ok B:ok ok", 1, false, 3, false },            // a phase change starts a new segment
        { "ok ok ok vio", 0, false, -1, false },            // the violation window itself
        { "inc inc", 0, false, -1, false },
        { "off ok ok ok", 3, true, 1, true },
        { "ok ok ok ok B:vio", 0, false, -1, false },       // newest window judged in another phase
    };

    [Theory]
    [MemberData(nameof(Table))]
    public void Streaks_follow_the_table(string tokens, int progress, bool eligible, int sinceIndex, bool became)
    {
        var s = PromotionEligibility.Evaluate(Phase.A, Three, Windows(tokens))!;

        Assert.Equal((progress, eligible, sinceIndex < 0 ? (DateTimeOffset?)null : T0.AddMinutes(15 * sinceIndex), became, false),
            (s.Progress, s.Eligible, s.Since, s.BecameEligible, s.Truncated));
        Assert.Equal(("A", "B", 3, "sre"), (s.Phase, s.Target, s.Required, string.Join(",", s.Approvers)));
    }

    [Fact]
    public void Exactly_one_window_of_a_long_clean_run_announces_eligibility()
    {
        var all = Windows(string.Join(' ', Enumerable.Repeat("ok", 20)));
        var announcing = Enumerable.Range(1, all.Count)
            .Where(n => PromotionEligibility.Evaluate(Phase.A, Three, all.Take(n).ToList())!.BecameEligible)
            .ToList();
        Assert.Equal([3], announcing);
    }

    [Fact]
    public void Hours_rules_count_four_windows_per_hour_and_targets_follow_the_phase()
    {
        var rule = new PromotionRule(null, 1.5, ApproverRoles.Governance, false, true); // 6 windows
        var history = Windows("C:ok C:ok C:inc C:ok C:ok C:ok C:warn");
        var s = PromotionEligibility.Evaluate(Phase.C, rule, history)!;
        Assert.Equal(("C", "complete", 6, 6, true, true, "governance"),
            (s.Phase, s.Target, s.Required, s.Progress, s.Eligible, s.BecameEligible, string.Join(",", s.Approvers)));
        Assert.Equal("C", PromotionEligibility.TargetOf(Phase.B));
        Assert.Null(PromotionEligibility.Evaluate(Phase.Off, Three, history));
    }

    [Fact]
    public void A_run_of_inconclusive_windows_longer_than_the_lookback_is_truncated_and_announces_nothing()
    {
        // Read back from the newest: 2 compliant + 98 inconclusive = the limit of 100 for a 3-window rule, so the third
        // compliant window (and whatever came before it) is beyond the read-back.
        var tokens = "ok ok " + string.Join(' ', Enumerable.Repeat("inc", 98)) + " ok ok";
        var s = PromotionEligibility.Evaluate(Phase.A, Three, Windows(tokens))!;
        Assert.Equal(100, PromotionEligibility.LookbackLimit(3));
        Assert.Equal((2, false, true, false), (s.Progress, s.Eligible, s.Truncated, s.BecameEligible));

        var fits = PromotionEligibility.Evaluate(Phase.A, Three, Windows("ok " + string.Join(' ', Enumerable.Repeat("inc", 96)) + " ok ok"))!;
        Assert.Equal((3, true, false, true), (fits.Progress, fits.Eligible, fits.Truncated, fits.BecameEligible));
    }

    [Fact]
    public void Out_of_order_history_is_rejected()
    {
        var h = Windows("ok ok");
        h.Reverse();
        Assert.Throws<ArgumentException>(() => PromotionEligibility.Evaluate(Phase.A, Three, h));
    }
}
