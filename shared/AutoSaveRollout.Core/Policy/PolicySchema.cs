using System.Text.RegularExpressions;

namespace AutoSaveRollout.Core.Policy;

/// <summary>
/// THE list of keys <c>policy.yaml</c> may contain, with their defaults and allowed ranges. To add a setting
/// (promotion rules, approvers, escalation timers …): add a <see cref="FieldSpec"/> here, read its dotted path in
/// <see cref="PolicyLoader"/>'s builder, and add the member to <see cref="RolloutPolicy"/>. Unknown keys are rejected
/// automatically because only keys listed here are accepted.
/// </summary>
internal static partial class PolicySchema
{
    /// <summary>
    /// A flag name: 1–64 ASCII letters, digits, '.', '_' or '-', starting with a letter or digit. The name goes into the
    /// flag-service URL, the PagerDuty dedup key and the rollback command people copy into a shell, so nothing else is
    /// accepted (no spaces, quotes, '/', '&lt;', ';').
    /// </summary>
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", RegexOptions.CultureInvariant)]
    public static partial Regex FlagName();

    /// <summary><see cref="FlagName"/> in words, as errors quote it.</summary>
    public const string FlagNameRule = "1-64 letters, digits, '.', '_' or '-' starting with a letter or digit";

    /// <summary><c>rollout.gate.mode</c>: <c>confidence</c> or <c>point</c>.</summary>
    [GeneratedRegex("^(confidence|point)$", RegexOptions.CultureInvariant)]
    public static partial Regex GateMode();

    /// <summary><see cref="GateMode"/> in words, as errors quote it.</summary>
    public const string GateModeRule = "confidence or point";

    /// <summary>Default Slack channel for ok and warn posts.</summary>
    public const string DefaultRolloutChannel = "#autosave-rollout";

    /// <summary>The whole document: a mapping with the single required key <c>rollout</c>.</summary>
    public static readonly MappingSpec Document = new(
        Required("rollout", new MappingSpec(
            Optional("flag", new TextSpec("autosave", FlagName(), FlagNameRule)),
            Optional("warn_ratio", new NumberSpec(0.8, new NumberRange(0, false, 1, false))),
            Optional("min_samples", new IntegerSpec(50, min: 0)),
            // gates: rollout.gate (issue 11) — statistical gate mode; see GatePolicy.
            Optional("gate", new MappingSpec(
                Optional("mode", new TextSpec(GatePolicy.ConfidenceMode, GateMode(), GateModeRule)),
                Optional("confidence", new NumberSpec(GatePolicy.DefaultConfidence, new NumberRange(0.5, false, 0.9999, false))))),
            Required("phases", new MappingSpec(
                Required("A", PhaseSpec(Phase.A, exposurePct: 5, p95S: 2.5, errorPct: 1.0, drift: 0, collectorS: 180)),
                Required("B", PhaseSpec(Phase.B, exposurePct: 30, p95S: 2.0, errorPct: 0.5, drift: 0, collectorS: 120)),
                Required("C", PhaseSpec(Phase.C, exposurePct: 100, p95S: 1.8, errorPct: 0.3, drift: 0, collectorS: 120)))),
            Optional("channels", new MappingSpec(
                Optional("ok", new TextSpec(DefaultRolloutChannel)),
                Optional("warn", new TextSpec(DefaultRolloutChannel)),
                Optional("incident", new TextSpec("#incident-autosave")),
                Optional("escalation", new TextSpec("#incident")))))));

    private static FieldSpec Required(string name, NodeSpec spec) => new(name, spec, Required: true);

    private static FieldSpec Optional(string name, NodeSpec spec) => new(name, spec);

    /// <summary>Largest <c>promotion.after_windows</c>: 672 windows = 7 days, so the Reporter's read-back stays bounded.</summary>
    public const int MaxPromotionWindows = 672;

    /// <summary>
    /// One phase: <c>exposure_pct</c> (percent, (0, 100], optional), the required <c>slo</c> mapping whose
    /// thresholds (seconds, percent, drift events per window, seconds; all ≥ 0) default per phase, and the optional
    /// <c>promotion</c> rule (defaults: <see cref="PromotionRule.DefaultFor"/>).
    /// </summary>
    private static MappingSpec PhaseSpec(Phase phase, double exposurePct, double p95S, double errorPct, double drift, double collectorS) => new(
        Optional("exposure_pct", new NumberSpec(exposurePct, new NumberRange(0, false, 100, true))),
        Required("slo", new MappingSpec(
            Optional("save_p95_s", new NumberSpec(p95S, NumberRange.NonNegative)),
            Optional("error_rate_pct", new NumberSpec(errorPct, NumberRange.NonNegative)),
            Optional("history_drift", new NumberSpec(drift, NumberRange.NonNegative)),
            Optional("collector_latency_s", new NumberSpec(collectorS, NumberRange.NonNegative)))),
        Optional("promotion", new PromotionSpec(PromotionRule.DefaultFor(phase))));

    /// <summary>
    /// The keys of a <c>promotion</c> mapping: at most one of <c>after_windows</c> (integer in [1, 672]) or
    /// <c>after_hours</c> (a multiple of 0.25 in (0, 168]), <c>approvers</c> (a non-empty list of distinct roles from sre,
    /// dev_lead, governance), <c>no_critical_alert</c> and <c>no_incident</c> (booleans). Absent keys take the phase's default.
    /// </summary>
    public static MappingSpec PromotionKeys(PromotionRule defaults) => new(
        Optional("after_windows", new IntegerSpec(defaults.AfterWindows ?? defaults.RequiredWindows, min: 1, max: MaxPromotionWindows)),
        Optional("after_hours", new NumberSpec(defaults.AfterHours ?? defaults.RequiredWindows / 4.0,
            new NumberRange(0, false, MaxPromotionWindows / 4, true))),
        Optional("approvers", new RoleSetSpec(defaults.Approvers)),
        Optional("no_critical_alert", new BooleanSpec(defaults.NoCriticalAlert)),
        Optional("no_incident", new BooleanSpec(defaults.NoIncident)));
}
