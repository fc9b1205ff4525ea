using System.CommandLine;
using System.Globalization;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Hosting.Metrics;
using AutoSaveRollout.Host.Hosting;
using Spectre.Console;

namespace AutoSaveRollout.Host.Cli;

/// <summary>
/// <c>metrics [--url]</c>: scrapes a running host's <c>/metrics</c> (Prometheus text) and prints a summary: counters and
/// gauges with their value, histograms with count, mean and sum. Unreachable or not Prometheus text: exit 2.
/// </summary>
internal static class MetricsCommand
{
    public static Command Create()
    {
        var url = new Option<string?>("--url") { Description = "the host's metrics URL (default http://127.0.0.1:<Metrics:Port>/metrics)" };
        var command = new Command("metrics", "print a summary of a running host's metrics (run --metrics-port)") { url };
        command.SetAction((parse, ct) => CliSupport.GuardAsync(async () =>
        {
            var target = parse.GetValue(url) is { } u ? ParseUrl(u) : DefaultUrl();
            string text;
            using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) })
            {
                try
                {
                    using var response = await http.GetAsync(target, ct);
                    if (!response.IsSuccessStatusCode)
                        throw new ConfigurationException($"{target} answered HTTP {(int)response.StatusCode} {response.ReasonPhrase}");
                    text = await response.Content.ReadAsStringAsync(ct);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
                {
                    throw new ConfigurationException($"cannot reach {target}: {(ex is TaskCanceledException ? "timed out" : ex.Message)} (is `run --metrics-port` running?)");
                }
            }
            IReadOnlyList<PrometheusFamily> families;
            try { families = PrometheusText.Parse(text); }
            catch (FormatException ex) { throw new ConfigurationException($"{target} did not return Prometheus text: {ex.Message}"); }

            var console = CliSupport.CreateConsole();
            console.WriteLine($"metrics from {target}");
            var table = new Table().Border(TableBorder.Simple);
            foreach (var c in new[] { "metric", "labels", "value" }) table.AddColumn(c);
            foreach (var f in families)
            {
                if (f.Samples.Count == 0)
                {
                    table.AddRow(Markup.Escape(f.Name), "", "–");
                    continue;
                }
                if (f.Type == "histogram")
                {
                    foreach (var series in f.Samples.Where(s => s.Name == f.Name + "_count"))
                    {
                        var labels = series.LabelText();
                        var sum = f.Samples.FirstOrDefault(s => s.Name == f.Name + "_sum" && s.LabelText() == labels)?.Value ?? double.NaN;
                        var mean = series.Value > 0 ? sum / series.Value : double.NaN;
                        var unit = f.Name.EndsWith("_seconds", StringComparison.Ordinal) ? " s" : "";
                        table.AddRow(Markup.Escape(f.Name), Markup.Escape(labels),
                            Markup.Escape($"count {N(series.Value)}, mean {N(mean, "0.###")}{unit}, sum {N(sum, "0.###")}{unit}"));
                    }
                    continue;
                }
                foreach (var s in f.Samples) table.AddRow(Markup.Escape(s.Name), Markup.Escape(s.LabelText()), N(s.Value));
            }
            console.Write(table);
            return CliSupport.Success;
        }));
        return command;
    }

    private static string N(double v, string format = "0.###") => double.IsNaN(v) ? "–" : v.ToString(format, CultureInfo.InvariantCulture);

    private static Uri ParseUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri
            : throw new ConfigurationException($"--url must be an http(s) URL (got '{text}')");

    private static Uri DefaultUrl()
    {
        var port = RunCommand.MetricsPort(null, PipelineFactory.LoadConfiguration())
            ?? throw new ConfigurationException("no metrics URL: pass --url http://127.0.0.1:<port>/metrics or set Metrics:Port");
        return new Uri($"http://127.0.0.1:{port}{MetricsEndpoint.Path}");
    }
}
