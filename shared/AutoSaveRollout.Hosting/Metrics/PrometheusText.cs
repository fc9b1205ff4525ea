using System.Globalization;
using System.Text;

namespace AutoSaveRollout.Hosting.Metrics;

/// <summary>One sample line: metric name, labels, value.</summary>
/// <param name="Name">Sample name, e.g. <c>autosave_stage_duration_seconds_bucket</c>.</param>
/// <param name="Labels">Label names and (unescaped) values.</param>
/// <param name="Value">Sample value.</param>
public sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    /// <summary>The labels as <c>k=v, …</c> in name order, without <paramref name="except"/>.</summary>
    public string LabelText(params string[] except) =>
        string.Join(", ", Labels.Where(l => !except.Contains(l.Key)).OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => $"{l.Key}={l.Value}"));
}

/// <summary>A metric family: name, <c># TYPE</c>, <c># HELP</c> and its samples (for a histogram, its _bucket, _sum and _count lines).</summary>
/// <param name="Name">Family name.</param>
/// <param name="Type">counter, gauge, histogram, summary or untyped.</param>
/// <param name="Help">Help text, or null.</param>
/// <param name="Samples">Samples in file order.</param>
public sealed record PrometheusFamily(string Name, string Type, string? Help, IReadOnlyList<PrometheusSample> Samples);

/// <summary>
/// Reads the Prometheus text exposition format 0.0.4 (what the standalone host's <c>/metrics</c>, OpenTelemetry's
/// Prometheus exporter, serves; used by the <c>metrics</c> command and the tests). Throws <see cref="FormatException"/>
/// naming the line for anything else.
/// </summary>
public static class PrometheusText
{
    /// <summary>Parses <paramref name="text"/> into families, in file order.</summary>
    public static IReadOnlyList<PrometheusFamily> Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var order = new List<string>();
        var types = new Dictionary<string, string>(StringComparer.Ordinal);
        var help = new Dictionary<string, string>(StringComparer.Ordinal);
        var samples = new Dictionary<string, List<PrometheusSample>>(StringComparer.Ordinal);

        void Declare(string name)
        {
            if (samples.ContainsKey(name)) return;
            order.Add(name);
            samples[name] = [];
        }

        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0) continue;
            try
            {
                if (line.StartsWith('#'))
                {
                    var parts = line.Split(' ', 4, StringSplitOptions.None);
                    if (parts.Length >= 3 && parts[0] == "#" && parts[1] is "HELP" or "TYPE")
                    {
                        Declare(parts[2]);
                        if (parts[1] == "TYPE")
                        {
                            var type = parts.Length == 4 ? parts[3].Trim() : "";
                            if (type is not ("counter" or "gauge" or "histogram" or "summary" or "untyped")) throw new FormatException($"unknown type '{type}'");
                            types[parts[2]] = type;
                        }
                        else
                        {
                            help[parts[2]] = parts.Length == 4 ? Unescape(parts[3], quoted: false) : "";
                        }
                    }
                    continue; // other comments
                }
                var sample = ParseSample(line);
                var family = FamilyOf(sample.Name, types);
                Declare(family);
                samples[family].Add(sample);
            }
            catch (FormatException ex)
            {
                throw new FormatException($"line {lineNumber}: {ex.Message}: {Shorten(line)}");
            }
        }
        return order.Select(n => new PrometheusFamily(n, types.GetValueOrDefault(n, "untyped"), help.GetValueOrDefault(n), samples[n])).ToList();
    }

    private static string FamilyOf(string sampleName, Dictionary<string, string> types)
    {
        if (types.ContainsKey(sampleName)) return sampleName;
        foreach (var suffix in new[] { "_bucket", "_sum", "_count" })
        {
            if (sampleName.EndsWith(suffix, StringComparison.Ordinal) && types.TryGetValue(sampleName[..^suffix.Length], out var t) && t is "histogram" or "summary")
                return sampleName[..^suffix.Length];
        }
        return sampleName;
    }

    private static PrometheusSample ParseSample(string line)
    {
        var i = 0;
        while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] is '_' or ':')) i++;
        if (i == 0 || char.IsAsciiDigit(line[0])) throw new FormatException("expected a metric name");
        var name = line[..i];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (i < line.Length && line[i] == '{')
        {
            i++;
            while (true)
            {
                while (i < line.Length && line[i] == ' ') i++;
                if (i < line.Length && line[i] == '}') { i++; break; }
                var start = i;
                while (i < line.Length && (char.IsAsciiLetterOrDigit(line[i]) || line[i] == '_')) i++;
                if (i == start || i + 1 >= line.Length || line[i] != '=' || line[i + 1] != '"') throw new FormatException("malformed label");
                var key = line[start..i];
                i += 2;
                var value = new StringBuilder();
                while (true)
                {
                    if (i >= line.Length) throw new FormatException("unterminated label value");
                    var c = line[i++];
                    if (c == '"') break;
                    if (c == '\\')
                    {
                        if (i >= line.Length) throw new FormatException("unterminated escape");
                        var e = line[i++];
                        value.Append(e switch { 'n' => '\n', '\\' => '\\', '"' => '"', _ => throw new FormatException($"bad escape \\{e}") });
                    }
                    else value.Append(c);
                }
                if (!labels.TryAdd(key, value.ToString())) throw new FormatException($"duplicate label {key}");
                while (i < line.Length && line[i] == ' ') i++;
                if (i < line.Length && line[i] == ',') { i++; continue; }
                if (i < line.Length && line[i] == '}') { i++; break; }
                throw new FormatException("expected , or }");
            }
        }
        var rest = line[i..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length is < 1 or > 2) throw new FormatException("expected a value (and optional timestamp)");
        return new PrometheusSample(name, labels, ParseValue(rest[0]));
    }

    /// <summary>Parses a sample value: a Go float, <c>+Inf</c>, <c>-Inf</c> or <c>NaN</c>.</summary>
    public static double ParseValue(string s) => s switch
    {
        "+Inf" or "Inf" => double.PositiveInfinity,
        "-Inf" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : throw new FormatException($"bad value '{s}'"),
    };

    private static string Unescape(string s, bool quoted)
    {
        var b = new StringBuilder(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 1 < s.Length)
            {
                var e = s[++i];
                b.Append(e switch { 'n' => "\n", '\\' => "\\", '"' when quoted => "\"", _ => "\\" + e });
            }
            else b.Append(s[i]);
        }
        return b.ToString();
    }

    private static string Shorten(string line) => line.Length <= 80 ? line : line[..80] + "…";
}
