using AutoSaveRollout.Core.Gates;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Reporting;

namespace AutoSaveRollout.Tests.Reporting;

public class TemplateTests
{
    private static readonly TemplateRenderer Renderer = TemplateRenderer.Load();

    internal static DecisionRecord Decision(string phase = "B", string status = "violation", double? p95 = 2.3456, double? err = 0.125,
        IReadOnlyList<string>? violations = null) => new()
    {
        DecisionId = "dec-20261120T1015Z-B-0123456789ab",
        Flag = "autosave",
        WindowStart = new DateTimeOffset(2026, 11, 20, 10, 15, 0, TimeSpan.Zero),
        WindowEnd = new DateTimeOffset(2026, 11, 20, 10, 30, 0, TimeSpan.Zero),
        Phase = phase,
        Status = status,
        RollbackRequired = status == "violation",
        Metrics = new Dictionary<string, DecisionMetric>
        {
            [MetricNames.P95] = new(p95, 2.0, 1.6, "violation"),
            [MetricNames.ErrorRate] = new(err, 0.5, 0.4, "ok"),
            [MetricNames.HistoryDrift] = new(0, 0, null, "ok"),
            [MetricNames.CollectorLatency] = new(0, 120, 96, "ok"),
        },
        Violations = violations ?? (status == "violation" ? ["p95_s"] : []),
        Samples = new DecisionSamples(900, 1, 1, 0, 4),
        Rollback = status == "violation"
            ? new RollbackPlan("B", "A", "p95_s violation",
                "autosave-rollout rollback --flag autosave --from B --to A --reason \"p95_s violation\" --decision dec-20261120T1015Z-B-0123456789ab")
            : null,
        NextPhase = status == "violation" ? "A" : phase,
        CollectorDelayed = false,
        PolicySha256 = "p",
        BatchSha256 = "b",
        BatchPath = "autosave/2026/11/20/1015.jsonl",
        DecidedAt = new DateTimeOffset(2026, 11, 20, 10, 30, 0, TimeSpan.Zero),
    };

    private static string Render(string id, DecisionRecord d, bool slack = false) =>
        Renderer.Render(id, ReportPlanner.TemplateValues(d, "autosave-rollout-monitor"), slack ? SlackText.Escape : null);

    [Fact]
    public void Ok_template() => Assert.Equal(
        "✅ AutoSave C OK / window=2026-11-20T10:15Z/2026-11-20T10:30Z / p95=1.234s / err=0.13%",
        Render(TemplateIds.Ok, Decision("C", "ok", p95: 1.2341, err: 0.125)));

    [Fact]
    public void Warn_template() => Assert.Equal(
        "⚠️ AutoSave A nearing limits / p95=2.100s / err=0.00% / action=watch",
        Render(TemplateIds.Warn, Decision("A", "warn", p95: 2.1, err: 0)));

    [Fact]
    public void Incident_template() => Assert.Equal(
        "🚨 AutoSave B violation / metric=p95_s / window=2026-11-20T10:15Z/2026-11-20T10:30Z / rollback=autosave-rollout rollback --flag autosave --from B --to A --reason \"p95_s violation\" --decision dec-20261120T1015Z-B-0123456789ab",
        Render(TemplateIds.Incident, Decision()));

    [Fact]
    public void Rollback_template() => Assert.Equal(
        "Rollback invoked: `autosave-rollout rollback --flag autosave --from B --to A --reason \"p95_s violation\" --decision dec-20261120T1015Z-B-0123456789ab` / initiated_by=autosave-rollout-monitor / reason=p95_s",
        Render(TemplateIds.Rollback, Decision()));

    [Fact]
    public void Several_violated_metrics_are_listed() => Assert.Contains(
        "metric=p95_s,error_rate_pct /", Render(TemplateIds.Incident, Decision(violations: ["p95_s", "error_rate_pct"])));

    [Fact]
    public void Undefined_numbers_render_as_n_a() => Assert.Equal(
        "⚠️ AutoSave A nearing limits / p95=n/as / err=n/a% / action=watch", Render(TemplateIds.Warn, Decision("A", "warn", p95: null, err: null)));

    [Fact]
    public void Slack_escaping_applies_to_values_only()
    {
        var d = Decision() with { Rollback = new RollbackPlan("B", "A", "x", "run <x> & <!here>") };
        Assert.Equal(
            "🚨 AutoSave B violation / metric=p95_s / window=2026-11-20T10:15Z/2026-11-20T10:30Z / rollback=run &lt;x&gt; &amp; &lt;!here&gt;",
            Render(TemplateIds.Incident, d, slack: true));
    }

    [Fact]
    public void An_unfilled_placeholder_is_an_error_naming_it()
    {
        var ex = Assert.Throws<TemplateException>(() => Render(TemplateIds.Incident, Decision("B", "ok")));
        Assert.Equal("template autosave-incident: placeholder {metric} has no value", ex.Message);
    }

    [Fact]
    public void An_unknown_placeholder_in_a_template_file_is_an_error_naming_it()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "autosave-ok.txt"), "OK {phase} {p99}\n");
            var ex = Assert.Throws<TemplateException>(() => TemplateRenderer.Load(dir));
            Assert.Equal("template autosave-ok: unknown placeholder {p99}", ex.Message);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void A_template_file_overrides_the_built_in_one()
    {
        var dir = Directory.CreateTempSubdirectory().FullName;
        try
        {
            File.WriteAllText(Path.Combine(dir, "autosave-ok.txt"), "OK {phase} p95={p95}\n");
            var r = TemplateRenderer.Load(dir);
            Assert.Equal("OK C p95=1.000", r.Render(TemplateIds.Ok, ReportPlanner.TemplateValues(Decision("C", "ok", p95: 1), "x")));
            Assert.StartsWith("⚠️", r.Templates[TemplateIds.Warn]);
        }
        finally { Directory.Delete(dir, true); }
    }

    [Fact]
    public void Built_in_templates_are_the_specified_texts()
    {
        // {evidence} (issue 11) is empty in point mode, so the rendered texts are the specified ones there

        Assert.Equal("✅ AutoSave {phase} OK / window={window} / p95={p95}s / err={err_rate}%{evidence}", Renderer.Templates[TemplateIds.Ok]);
        Assert.Equal("⚠️ AutoSave {phase} nearing limits / p95={p95}s / err={err_rate}% / action=watch{evidence}", Renderer.Templates[TemplateIds.Warn]);
        Assert.Equal("🚨 AutoSave {phase} violation / metric={metric} / window={window} / rollback={cmd}{evidence}", Renderer.Templates[TemplateIds.Incident]);
        Assert.Equal("Rollback invoked: `{cmd}` / initiated_by={initiator} / reason={metric}", Renderer.Templates[TemplateIds.Rollback]);
    }
}
