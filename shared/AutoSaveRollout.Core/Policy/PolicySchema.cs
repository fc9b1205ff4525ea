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

    /// <summary>Default Slack channel for ok and warn posts.</summary>
    public const string DefaultRolloutChannel = "#autosave-rollout";

    /// <summary>The whole document: a mapping with the single required key <c>rollout</c>.</summary>
    public static readonly MappingSpec Document = new(
        Required("rollout", new MappingSpec(
            Optional("flag", new TextSpec("autosave", FlagName(), FlagNameRule)),
            Optional("warn_ratio", new NumberSpec(0.8, new NumberRange(0, false, 1, false))),
            Optional("min_samples", new IntegerSpec(50, min: 0)),
            Required("phases", new MappingSpec(
                Required("A", PhaseSpec(exposurePct: 5, p95S: 2.5, errorPct: 1.0, drift: 0, collectorS: 180)),
                Required("B", PhaseSpec(exposurePct: 30, p95S: 2.0, errorPct: 0.5, drift: 0, collectorS: 120)),
                Required("C", PhaseSpec(exposurePct: 100, p95S: 1.8, errorPct: 0.3, drift: 0, collectorS: 120)))),
            Optional("channels", new MappingSpec(
                Optional("ok", new TextSpec(DefaultRolloutChannel)),
                Optional("warn", new TextSpec(DefaultRolloutChannel)),
                Optional("incident", new TextSpec("#incident-autosave")),
                Optional("escalation", new TextSpec("#incident")))))));

    private static FieldSpec Required(string name, NodeSpec spec) => new(name, spec, Required: true);

    private static FieldSpec Optional(string name, NodeSpec spec) => new(name, spec);

    /// <summary>
    /// One phase: <c>exposure_pct</c> (percent, (0, 100], optional) and the required <c>slo</c> mapping whose
    /// thresholds (seconds, percent, drift events per window, seconds; all ≥ 0) default per phase.
    /// </summary>
    private static MappingSpec PhaseSpec(double exposurePct, double p95S, double errorPct, double drift, double collectorS) => new(
        Optional("exposure_pct", new NumberSpec(exposurePct, new NumberRange(0, false, 100, true))),
        Required("slo", new MappingSpec(
            Optional("save_p95_s", new NumberSpec(p95S, NumberRange.NonNegative)),
            Optional("error_rate_pct", new NumberSpec(errorPct, NumberRange.NonNegative)),
            Optional("history_drift", new NumberSpec(drift, NumberRange.NonNegative)),
            Optional("collector_latency_s", new NumberSpec(collectorS, NumberRange.NonNegative)))));
}
