using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using AutoSaveRollout.Hosting.Metrics;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Cli;

/// <summary>The standalone host serving /metrics on loopback while it runs, scraped over HTTP and by the <c>metrics</c> command.</summary>
public sealed class MetricsCliProcessTests : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-metrics-cli-").FullName;

    public MetricsCliProcessTests()
    {
        File.Copy(RepoFiles.PointPolicy, Path.Combine(_cwd, "policy.yaml"));
        File.Copy(RepoFiles.PathOf("host.json"), Path.Combine(_cwd, "host.json")); // maxPollingInterval 2 s
    }

    public void Dispose()
    {
        try { Directory.Delete(_cwd, true); } catch (IOException) { }
    }

    // 60 completed saves and 2 errors in the last closed window and in the current one: whichever window the host's first
    // run collects (the current one when a 15-minute boundary passes first), it holds exactly these counts.
    private string WriteTelemetry()
    {
        var now = DateTimeOffset.UtcNow;
        var current = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute / 15 * 15, 0, TimeSpan.Zero);
        var lines = new List<string>();
        foreach (var start in new[] { current.AddMinutes(-15), current })
        {
            for (var i = 0; i < 62; i++)
            {
                var ts = start.AddSeconds(10 * i).ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
                lines.Add(i < 60
                    ? $"{{\"event_id\":\"{start:HHmm}-{i}\",\"ts\":\"{ts}\",\"event\":\"autosave.save.completed\",\"duration_ms\":500}}"
                    : $"{{\"event_id\":\"{start:HHmm}-{i}\",\"ts\":\"{ts}\",\"event\":\"autosave.save.error\",\"retryable\":true}}");
            }
        }
        var path = Path.Combine(_cwd, "telemetry.jsonl");
        File.WriteAllLines(path, lines);
        return path;
    }

    private static double Sum(IReadOnlyList<PrometheusFamily> families, string family, Func<PrometheusSample, bool>? where = null) =>
        families.Where(f => f.Name == family).SelectMany(f => f.Samples).Where(where ?? (_ => true)).Sum(s => s.Value);

    [Fact]
    public async Task The_running_host_serves_moving_counters_on_loopback_only_and_the_metrics_command_summarises_them()
    {
        var port = HostProcess.FreePort();
        var store = Path.Combine(_cwd, "store");
        using var p = Process.Start(HostProcess.StartInfo(_cwd,
            ["run", "--telemetry", WriteTelemetry(), "--schedule", "*/2 * * * * *", "--dry-run", "--store", store, "--metrics-port", port.ToString(CultureInfo.InvariantCulture)]))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var url = $"http://127.0.0.1:{port}/metrics";
            IReadOnlyList<PrometheusFamily> families = [];
            string contentType = "";
            var deadline = DateTime.UtcNow.AddSeconds(45);
            while (DateTime.UtcNow < deadline)
            {
                try
                {
                    using var response = await http.GetAsync(url);
                    contentType = response.Content.Headers.ContentType?.ToString() ?? "";
                    families = PrometheusText.Parse(await response.Content.ReadAsStringAsync());
                    if (Sum(families, "autosave_stage_duration_seconds", s => s.Name.EndsWith("_count") && s.Labels["stage"] == "reporter") >= 1
                        && families.Any(f => f.Name == "autosave_window_p95_seconds")) break;
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }
                await Task.Delay(250);
            }
            if (families.Count == 0) Assert.Fail("no scrape succeeded: " + await Output(p, stdout, stderr));

            Assert.Equal("text/plain; version=0.0.4; charset=utf-8", contentType);
            var completed = Sum(families, "autosave_events_collected_total", s => s.Labels["event"] == "autosave.save.completed");
            var errors = Sum(families, "autosave_events_collected_total", s => s.Labels["event"] == "autosave.save.error");
            Assert.Contains((completed, errors), new[] { (60.0, 2.0), (120.0, 4.0) }); // one window, or two if a boundary passed
            Assert.True(Sum(families, "autosave_batches_analyzed_total") >= 1);
            Assert.Equal(Sum(families, "autosave_batches_analyzed_total"), Sum(families, "autosave_decisions_total"));
            // The first window is judged in phase A: 2 errors in 62 is 3.2 % > 1 %, a violation (a later window is in phase off).
            Assert.Equal(1, Sum(families, "autosave_decisions_total", s => s.Labels["phase"] == "A" && s.Labels["status"] == "violation"));
            foreach (var stage in new[] { "collector", "analyzer", "reporter" })
                Assert.True(Sum(families, "autosave_stage_duration_seconds", s => s.Name.EndsWith("_count") && s.Labels["stage"] == stage) >= 1, stage);
            Assert.Equal(0, Sum(families, "autosave_dead_letters_total"));
            Assert.Equal(0, Sum(families, "autosave_lines_rejected_total"));

            AssertListensOnLoopbackOnly(port);

            var (exit, summary, error) = await HostProcess.RunAsync(_cwd, "metrics", "--url", url);
            Assert.True(exit == 0, error);
            Assert.Contains($"metrics from {url}", summary);
            Assert.Matches(@"autosave_events_collected_total\s+event=autosave\.save\.completed\s+(60|120)\s", summary);
            Assert.Matches(@"autosave_stage_duration_seconds\s+stage=analyzer\s+count \d+, mean \d+(\.\d+)? s, sum \d+(\.\d+)? s", summary);
            // OpenTelemetry's exporter shows only series that exist; both pipeline queues have a dead-letter series from the start.
            Assert.Matches(@"autosave_dead_letters_total\s+queue=autosave-analyze\s+0\s", summary);
            Assert.Matches(@"autosave_dead_letters_total\s+queue=autosave-report\s+0\s", summary);
            // The status gauges, read after the Analyzer and Reporter runs: the phase A violation stepped the phase back to off.
            Assert.Equal(1, Sum(families, "autosave_rollout_phase", s => s.Labels["phase"] is "off" or "A"));
            Assert.Equal(3.2258, Sum(families, "autosave_window_error_rate_percent"), 3);
            Assert.Matches(@"autosave_window_p95_seconds\s+0\.5\s", summary);

            (exit, summary, error) = await HostProcess.RunAsync(_cwd, "metrics", "--url", $"http://127.0.0.1:{port}/other");
            Assert.Equal(2, exit);
            Assert.Equal($"error: http://127.0.0.1:{port}/other answered HTTP 404 Not Found", error.TrimEnd('\n'));
        }
        finally
        {
            if (!p.HasExited)
                using (var kill = Process.Start("kill", ["-INT", p.Id.ToString(CultureInfo.InvariantCulture)])) await kill!.WaitForExitAsync();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await p.WaitForExitAsync(cts.Token);
        }
        Assert.Equal(0, p.ExitCode);
        var log = await stdout;
        Assert.Contains($"metrics at http://127.0.0.1:{port}/metrics", log);
        Assert.Contains("Application is shutting down", log);
    }

    // /proc/net/tcp lists IPv4 sockets as hex "address:port"; 0A is LISTEN. 127.0.0.1 is 0100007F (little-endian).
    private static void AssertListensOnLoopbackOnly(int port)
    {
        var hexPort = port.ToString("X4", CultureInfo.InvariantCulture);
        string[] Listening(string file) => File.Exists(file)
            ? File.ReadLines(file).Skip(1).Select(l => l.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Where(f => f[3] == "0A" && f[1].EndsWith(":" + hexPort, StringComparison.Ordinal)).Select(f => f[1]).ToArray()
            : [];
        Assert.Equal([$"0100007F:{hexPort}"], Listening("/proc/net/tcp"));
        Assert.Empty(Listening("/proc/net/tcp6"));

        // And from outside the loopback interface, where the machine has another address, nothing answers.
        var external = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(i => i.GetIPProperties().UnicastAddresses).Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a));
        if (external is not null)
        {
            using var client = new TcpClient();
            Assert.ThrowsAny<SocketException>(() => client.Connect(external, port));
        }
    }

    private static async Task<string> Output(Process p, Task<string> stdout, Task<string> stderr)
    {
        if (!p.HasExited) p.Kill(true);
        return await stdout + await stderr;
    }

    [Fact]
    public async Task A_busy_metrics_port_stops_run_with_exit_2_and_one_line()
    {
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;

        var (exit, _, stderr) = await HostProcess.RunAsync(_cwd, "run", "--telemetry", WriteTelemetry(), "--dry-run", "--store", "s", "--metrics-port", port.ToString(CultureInfo.InvariantCulture));

        Assert.Equal(2, exit);
        var line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith($"error: metrics port {port}: cannot listen on 127.0.0.1", line);
    }

    [Theory]
    [InlineData("metrics", "--url", "http://127.0.0.1:{port}/metrics", "error: cannot reach http://127.0.0.1:{port}/metrics: ")]
    [InlineData("metrics", "--url", "ftp://x", "error: --url must be an http(s) URL")]
    [InlineData("metrics", null, null, "error: no metrics URL: pass --url")]
    [InlineData("run", "--metrics-port", "70000", "error: metrics port must be between 0 and 65535")]
    public async Task Bad_metrics_input_exits_with_2_and_one_line(string command, string? option, string? value, string expected)
    {
        var port = HostProcess.FreePort().ToString(CultureInfo.InvariantCulture);
        string[] args = option is null ? [command] : [command, option, value!.Replace("{port}", port)];
        if (command == "run") args = [.. args, "--telemetry", WriteTelemetry(), "--dry-run", "--store", "s"];

        var (exit, _, stderr) = await HostProcess.RunAsync(_cwd, args);

        Assert.Equal(2, exit);
        var line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith(expected.Replace("{port}", port), line);
    }
}
