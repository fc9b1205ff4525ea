using System.Reflection;
using System.Text;
using System.Text.RegularExpressions;

namespace AutoSaveRollout.Core.Reporting;

/// <summary>A template is unknown, uses an unknown placeholder, or a placeholder has no value. The message names it.</summary>
public sealed class TemplateException(string message) : Exception(message);

/// <summary>Template ids and the placeholders each may use.</summary>
public static class TemplateIds
{
    /// <summary>Window within SLO (phases B and C).</summary>
    public const string Ok = "autosave-ok";
    /// <summary>Nearing limits (phases A and B) or collector delayed.</summary>
    public const string Warn = "autosave-warn";
    /// <summary>SLO violation.</summary>
    public const string Incident = "autosave-incident";
    /// <summary>Runbook line after a rollback call.</summary>
    public const string Rollback = "autosave-rollback";
    /// <summary>A phase became eligible for promotion (posted once per streak to <c>channels.ok</c>).</summary>
    public const string Eligible = "autosave-eligible";
    /// <summary>A phase moved forward after its approvals and evidence checks (to <c>channels.ok</c>).</summary>
    public const string Promoted = "autosave-promoted";
    /// <summary>An approved, eligible move was blocked by failed evidence checks (to <c>channels.ok</c>, once per set of reasons).</summary>
    public const string MoveBlocked = "autosave-move-blocked";
    /// <summary>An incident nobody acknowledged within 30 minutes, raised to P1 (to <c>channels.escalation</c>).</summary>
    public const string Escalation = "autosave-escalation";
    /// <summary>No RCA 24 h after an incident: the phase stepped back one (to <c>channels.incident</c>).</summary>
    public const string RcaOverdue = "autosave-rca-overdue";
    /// <summary>Phase C daily report (to <c>channels.ok</c>).</summary>
    public const string Daily = "autosave-daily";

    /// <summary>Every template id.</summary>
    public static readonly IReadOnlyList<string> All = [Ok, Warn, Incident, Rollback, Eligible, Promoted, MoveBlocked, Escalation, RcaOverdue, Daily];

    /// <summary>Placeholders a template may contain: <c>phase</c>, <c>window</c>, <c>p95</c> (s), <c>err_rate</c> (%),
    /// <c>metric</c>, <c>cmd</c>, <c>initiator</c>; for <c>autosave-eligible</c> also <c>target</c> (B, C or complete),
    /// <c>compliant_windows</c>, <c>since</c> (first window of the streak, <c>yyyy-MM-ddTHH:mmZ</c>) and <c>approvers</c>
    /// (comma-separated roles). Lifecycle templates also use <c>approvals</c> (<c>role=name</c>, comma-separated),
    /// <c>move_id</c>, <c>exposure</c> (%), <c>reasons</c> (<c>; </c>-separated), <c>incident</c>, <c>minutes</c>, <c>priority</c>,
    /// <c>raised</c> (<c>yyyy-MM-ddTHH:mmZ</c>), <c>date</c> (<c>yyyy-MM-dd</c>), <c>windows</c>, <c>compliance</c>,
    /// <c>incidents</c>, <c>p95_trend</c>, <c>p95_max</c>, <c>err_trend</c> and <c>err_max</c> (values of <c>autosave-daily</c>:
    /// <c>AutoSaveRollout.Core.Lifecycle.DailyReport.TemplateValues</c>).
    /// Decision templates (<c>autosave-ok</c>, <c>-warn</c>, <c>-incident</c>) may also use <c>evidence</c>: empty in point mode,
    /// else " / " and the confidence gate's evidence, e.g. <c> / error_rate_pct p=0.003 over 1h, 19/900; p95_s p=0.41 over 15m, 12/224</c>.
    /// A placeholder without a value for the message being rendered fails the render.</summary>
    public static readonly IReadOnlySet<string> Placeholders = new HashSet<string>(StringComparer.Ordinal)
    {
        "phase", "window", "p95", "err_rate", "metric", "cmd", "initiator", "target", "compliant_windows", "since", "approvers",
        "approvals", "move_id", "exposure", "reasons", "incident", "minutes", "priority", "raised", "date", "windows", "compliance",
        "incidents", "p95_trend", "p95_max", "err_trend", "err_max",
        "evidence", // gates (issue 11)
    };
}

/// <summary>
/// Strict <c>{name}</c> template rendering. Templates are files (<c>{id}.txt</c>): the built-in ones are embedded resources
/// (<c>shared/AutoSaveRollout.Core/Reporting/Templates/</c>); a directory given to <see cref="Load"/> overrides them file by
/// file. A placeholder outside <see cref="TemplateIds.Placeholders"/> fails at load; a placeholder without a value fails at
/// render; both throw <see cref="TemplateException"/> naming the template and placeholder.
/// </summary>
public sealed partial class TemplateRenderer
{
    [GeneratedRegex(@"\{([^{}]*)\}")]
    private static partial Regex PlaceholderPattern();

    private readonly IReadOnlyDictionary<string, string> _templates;

    private TemplateRenderer(IReadOnlyDictionary<string, string> templates) => _templates = templates;

    /// <summary>Template text by id (after loading).</summary>
    public IReadOnlyDictionary<string, string> Templates => _templates;

    /// <summary>
    /// Loads every template in <see cref="TemplateIds.All"/> from <paramref name="overrideDirectory"/> when it has the file,
    /// else from the embedded default, and validates placeholders. A trailing newline in a file is ignored.
    /// </summary>
    public static TemplateRenderer Load(string? overrideDirectory = null)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var id in TemplateIds.All)
        {
            string? text = null;
            if (overrideDirectory is not null)
            {
                var file = Path.Combine(overrideDirectory, id + ".txt");
                if (File.Exists(file)) text = File.ReadAllText(file, Encoding.UTF8);
            }
            text ??= ReadEmbedded(id);
            text = text.TrimEnd('\r', '\n');
            foreach (Match m in PlaceholderPattern().Matches(text))
            {
                var name = m.Groups[1].Value;
                if (!TemplateIds.Placeholders.Contains(name))
                    throw new TemplateException($"template {id}: unknown placeholder {{{name}}}");
            }
            result[id] = text;
        }
        return new TemplateRenderer(result);
    }

    /// <summary>
    /// Renders template <paramref name="id"/>, replacing each <c>{name}</c> with <paramref name="values"/>[name] passed
    /// through <paramref name="escape"/> (e.g. Slack mrkdwn escaping; template text itself is not escaped).
    /// </summary>
    public string Render(string id, IReadOnlyDictionary<string, string?> values, Func<string, string>? escape = null)
    {
        if (!_templates.TryGetValue(id, out var template)) throw new TemplateException($"unknown template {id}");
        return PlaceholderPattern().Replace(template, m =>
        {
            var name = m.Groups[1].Value;
            if (!values.TryGetValue(name, out var value) || value is null)
                throw new TemplateException($"template {id}: placeholder {{{name}}} has no value");
            return escape is null ? value : escape(value);
        });
    }

    private static string ReadEmbedded(string id)
    {
        using var s = typeof(TemplateRenderer).Assembly.GetManifestResourceStream($"templates/{id}.txt")
            ?? throw new TemplateException($"template {id}: not found");
        using var r = new StreamReader(s, Encoding.UTF8);
        return r.ReadToEnd();
    }
}

/// <summary>Slack mrkdwn escaping (Slack "Formatting text for app surfaces"): <c>&amp;</c>→<c>&amp;amp;</c> first, then
/// <c>&lt;</c>→<c>&amp;lt;</c> and <c>&gt;</c>→<c>&amp;gt;</c>; nothing else.</summary>
public static class SlackText
{
    /// <summary>Escapes an interpolated value for a Slack message.</summary>
    public static string Escape(string value) => value.Replace("&", "&amp;").Replace("<", "&lt;").Replace(">", "&gt;");
}
