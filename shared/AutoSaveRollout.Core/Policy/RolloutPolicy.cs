namespace AutoSaveRollout.Core.Policy;

/// <summary>Exposure phases in rollout order; <see cref="Off"/> is "rolled back past A" (no exposure, no gates).</summary>
public enum Phase
{
    /// <summary>Feature disabled after a rollback from A; windows are recorded with status <c>off</c>.</summary>
    Off = 0,
    /// <summary>Canary, 5% exposure by default.</summary>
    A = 1,
    /// <summary>Broad, 30% exposure by default.</summary>
    B = 2,
    /// <summary>Default, 100% exposure by default.</summary>
    C = 3,
}

/// <summary>Phase helpers.</summary>
public static class PhaseExtensions
{
    /// <summary>One phase back: C→B, B→A, A→Off, Off→Off.</summary>
    public static Phase StepBack(this Phase phase) => phase switch
    {
        Phase.C => Phase.B,
        Phase.B => Phase.A,
        _ => Phase.Off,
    };

    /// <summary>Wire name: <c>A</c>, <c>B</c>, <c>C</c> or <c>off</c>.</summary>
    public static string ToWire(this Phase phase) => phase == Phase.Off ? "off" : phase.ToString();

    /// <summary>Parses <c>A</c>/<c>B</c>/<c>C</c>/<c>off</c> (case-insensitive); false otherwise.</summary>
    public static bool TryParse(string? text, out Phase phase)
    {
        switch (text?.Trim().ToUpperInvariant())
        {
            case "A": phase = Phase.A; return true;
            case "B": phase = Phase.B; return true;
            case "C": phase = Phase.C; return true;
            case "OFF": phase = Phase.Off; return true;
            default: phase = Phase.Off; return false;
        }
    }
}

/// <summary>Per-phase SLO thresholds (the gate fails when a value exceeds its threshold).</summary>
/// <param name="SaveP95Seconds"><c>save_p95_s</c>: P95 save latency, seconds.</param>
/// <param name="ErrorRatePct"><c>error_rate_pct</c>: error rate, percent (0–100), not a ratio.</param>
/// <param name="HistoryDrift"><c>history_drift</c>: 1-hour moving average of drift events per window.</param>
/// <param name="CollectorLatencySeconds"><c>collector_latency_s</c>: batch written time − window end, seconds.</param>
public sealed record SloThresholds(double SaveP95Seconds, double ErrorRatePct, double HistoryDrift, double CollectorLatencySeconds);

/// <summary>One phase's settings from <c>rollout.phases.&lt;A|B|C&gt;</c>.</summary>
/// <param name="Phase">A, B or C.</param>
/// <param name="ExposurePct">Share of users exposed, percent (0–100].</param>
/// <param name="Slo">The phase's SLO gates.</param>
public sealed record PhasePolicy(Phase Phase, double ExposurePct, SloThresholds Slo)
{
    /// <summary>When the phase may be promoted (<c>rollout.phases.&lt;X&gt;.promotion</c>); the design's rule when absent.</summary>
    public PromotionRule Promotion { get; init; } = PromotionRule.DefaultFor(Phase);
}

/// <summary>Roles that approve a promotion (<c>promotion.approvers</c>); listed in this order everywhere.</summary>
[Flags]
public enum ApproverRoles
{
    /// <summary>No role (never valid in a policy).</summary>
    None = 0,
    /// <summary><c>sre</c>.</summary>
    Sre = 1,
    /// <summary><c>dev_lead</c>.</summary>
    DevLead = 2,
    /// <summary><c>governance</c> (the governance committee).</summary>
    Governance = 4,
}

/// <summary>Wire names of <see cref="ApproverRoles"/>.</summary>
public static class ApproverRoleNames
{
    /// <summary>Every role with its wire name, in display order.</summary>
    public static readonly IReadOnlyList<(ApproverRoles Role, string Name)> All =
        [(ApproverRoles.Sre, "sre"), (ApproverRoles.DevLead, "dev_lead"), (ApproverRoles.Governance, "governance")];

    /// <summary>The roles in display order, e.g. <c>["sre", "dev_lead"]</c>.</summary>
    public static IReadOnlyList<string> Names(ApproverRoles roles) => All.Where(r => roles.HasFlag(r.Role)).Select(r => r.Name).ToList();
}

/// <summary>
/// A phase's promotion rule (design section 1): the phase is eligible after <see cref="RequiredWindows"/> consecutive
/// compliant 15-minute windows (status <c>ok</c> or <c>warn</c>; <c>inconclusive</c> neither advances nor resets; a
/// violation, a missing window or a phase change resets). Approvals and the move itself are not automated here.
/// </summary>
/// <param name="AfterWindows"><c>after_windows</c>: consecutive compliant windows; null when the rule is in hours.</param>
/// <param name="AfterHours"><c>after_hours</c>: hours of continuous compliance (a multiple of 0.25); null when in windows.</param>
/// <param name="Approvers">Roles that must approve the promotion.</param>
/// <param name="NoCriticalAlert"><c>no_critical_alert</c>: no critical alert during the streak (met by construction: a violation resets it).</param>
/// <param name="NoIncident"><c>no_incident</c>: no incident during the streak (met by construction: a violation resets it).</param>
public sealed record PromotionRule(int? AfterWindows, double? AfterHours, ApproverRoles Approvers, bool NoCriticalAlert, bool NoIncident)
{
    /// <summary>Length of a window in minutes, the unit of <see cref="AfterHours"/>.</summary>
    public const int WindowMinutes = 15;

    /// <summary>Consecutive compliant windows required: <see cref="AfterWindows"/>, or <see cref="AfterHours"/> × 4.</summary>
    public int RequiredWindows => AfterWindows ?? (int)Math.Round(AfterHours!.Value * 60 / WindowMinutes);

    /// <summary>
    /// The design's rules: A after 8 consecutive compliant windows, approved by sre and dev_lead; B after 24 h with no
    /// critical alert, approved by sre; C complete after 72 h with no incident, signed off by governance.
    /// </summary>
    public static PromotionRule DefaultFor(Phase phase) => phase switch
    {
        Phase.A => new PromotionRule(8, null, ApproverRoles.Sre | ApproverRoles.DevLead, false, false),
        Phase.B => new PromotionRule(null, 24, ApproverRoles.Sre, true, false),
        Phase.C => new PromotionRule(null, 72, ApproverRoles.Governance, false, true),
        _ => throw new ArgumentOutOfRangeException(nameof(phase), phase, "phase off has no promotion rule"),
    };
}

/// <summary>Slack channels by purpose (<c>rollout.channels</c>).</summary>
/// <param name="Ok">Where <c>autosave-ok</c> goes (phases B and C).</param>
/// <param name="Warn">Where <c>autosave-warn</c> goes (phases A and B, and collector delays).</param>
/// <param name="Incident">Where <c>autosave-incident</c> goes.</param>
/// <param name="Escalation">Where unacknowledged incidents are re-posted.</param>
public sealed record ChannelPolicy(string Ok, string Warn, string Incident, string Escalation);

/// <summary>
/// The validated <c>policy.yaml</c>. Built only by <c>PolicyLoader</c>, which fills defaults and rejects bad documents.
/// </summary>
/// <param name="Flag">Feature flag name (<c>rollout.flag</c>, default <c>autosave</c>).</param>
/// <param name="WarnRatio">Warn band starts at <c>WarnRatio × threshold</c>; ratio in (0, 1), default 0.8.</param>
/// <param name="MinSamples">Minimum completed + error events for P95 and error rate to be conclusive (default 50).</param>
/// <param name="Phases">Settings for A, B and C (all three present).</param>
/// <param name="Channels">Slack channels.</param>
/// <param name="Sha256">Lowercase hex SHA-256 of the policy file's bytes, recorded in each decision.</param>
public sealed record RolloutPolicy(
    string Flag,
    double WarnRatio,
    int MinSamples,
    IReadOnlyDictionary<Phase, PhasePolicy> Phases,
    ChannelPolicy Channels,
    string Sha256)
{
    /// <summary>
    /// How P95 and error rate are gated (<c>rollout.gate</c>): <see cref="GateMode.Confidence"/> (the loader's default) or
    /// <see cref="GateMode.Point"/>. A policy built directly rather than by the loader gates by point estimate.
    /// </summary>
    public GatePolicy Gate { get; init; } = GatePolicy.Point;

    /// <summary>The settings of <paramref name="phase"/>; throws <see cref="ArgumentOutOfRangeException"/> for <see cref="Phase.Off"/>.</summary>
    public PhasePolicy For(Phase phase) =>
        Phases.TryGetValue(phase, out var p) ? p : throw new ArgumentOutOfRangeException(nameof(phase), phase, "phase has no policy");
}

/// <summary>How the sampled SLIs (P95 save latency, error rate) are compared with their thresholds (<c>rollout.gate.mode</c>).</summary>
public enum GateMode
{
    /// <summary><c>confidence</c>: one-sided exact binomial tests on three look-backs (see <c>AutoSaveRollout.Core.Gates.ConfidenceGate</c>).</summary>
    Confidence,
    /// <summary><c>point</c>: the window's point estimate against the threshold (violation when value &gt; T).</summary>
    Point,
}

/// <summary><c>rollout.gate</c>: the gate mode and, in confidence mode, the confidence level.</summary>
/// <param name="Mode">Gate mode (default <see cref="GateMode.Confidence"/> in <c>policy.yaml</c>).</param>
/// <param name="Confidence">Confidence level 1 − α in (0.5, 0.9999), default 0.95; ignored in point mode.</param>
public sealed record GatePolicy(GateMode Mode, double Confidence)
{
    /// <summary>Wire name of <see cref="GateMode.Confidence"/>.</summary>
    public const string ConfidenceMode = "confidence";

    /// <summary>Wire name of <see cref="GateMode.Point"/>.</summary>
    public const string PointMode = "point";

    /// <summary>Default <c>rollout.gate.confidence</c>.</summary>
    public const double DefaultConfidence = 0.95;

    /// <summary>Point-estimate gating (the behaviour before issue 11).</summary>
    public static readonly GatePolicy Point = new(GateMode.Point, DefaultConfidence);

    /// <summary>The default: confidence mode at 0.95.</summary>
    public static readonly GatePolicy Default = new(GateMode.Confidence, DefaultConfidence);

    /// <summary>Significance level α = 1 − <see cref="Confidence"/>.</summary>
    public double Alpha => 1 - Confidence;

    /// <summary><c>confidence</c> or <c>point</c>.</summary>
    public string ModeName => Mode == GateMode.Point ? PointMode : ConfidenceMode;
}
