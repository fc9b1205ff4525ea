using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Simulation;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Tests.Policy;

namespace AutoSaveRollout.Tests.EndToEnd;

/// <summary>
/// Confidence mode (issue 11) against the independent reference (<c>tests/reference/reference_metrics.py</c>, its own
/// binomial tails from <c>math.lgamma</c>), on seeded generated telemetry that is not in the repository: statuses, and
/// per metric and look-back n, count and p-value, and the deciding look-back.
/// </summary>
public sealed class ConfidenceReferenceCrossCheckTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("autosave-confidence-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    // phase, rate (saves/s), hours, seed, incident "offset:length:latency:errorRatio" or "" (none)
    public static TheoryData<string, double, double, int, string> Cases() => new()
    {
        { "A", 0.25, 8, 101, "" },                  // healthy: noise around a 1 % threshold
        { "A", 0.25, 4, 102, "120:120:1:0.016" },   // errors 1.6x threshold: pooled look-backs decide
        { "B", 1.5, 3, 103, "90:90:3:-" },          // latency x3
        { "C", 5, 2, 104, "60:60:1:0.0045" },       // errors 1.5x threshold at high volume
        { "A", 0.05, 6, 105, "180:180:1:0.05" },    // ~45 saves per window: min_samples per look-back
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Confidence_decisions_match_the_independent_reference(string phase, double rate, double hours, int seed, string incident)
    {
        var telemetry = Path.Combine(_dir, "t.jsonl");
        var options = new TelemetryGeneratorOptions { Duration = TimeSpan.FromHours(hours), SavesPerSecond = rate, Seed = seed };
        if (incident.Length > 0)
        {
            var p = incident.Split(':');
            options = options with
            {
                Incidents = [new TelemetryIncident(TimeSpan.FromMinutes(double.Parse(p[0], CultureInfo.InvariantCulture)),
                    TimeSpan.FromMinutes(double.Parse(p[1], CultureInfo.InvariantCulture)), double.Parse(p[2], CultureInfo.InvariantCulture),
                    p[3] == "-" ? null : double.Parse(p[3], CultureInfo.InvariantCulture))],
            };
        }
        using (var w = new StreamWriter(telemetry, false, new UTF8Encoding(false))) TelemetryGenerator.Write(options, w);

        var policy = PolicyLoader.LoadFile(RepoFiles.PathOf("policy.yaml"));
        Assert.Equal(GateMode.Confidence, policy.Gate.Mode);
        await using var h = await PipelineHarness.StartAsync(dryRun: true);
        PhaseExtensions.TryParse(phase, out var start);
        var ours = (await new ReplayRunner(h.Ports, policy, h.Templates).RunAsync(new FileTelemetrySource(telemetry),
                new ReplayOptions(start, true, TimeSpan.Zero, new QueueProcessingOptions { MaxDequeueCount = 5 })))
            .Select(w => JsonNode.Parse(ReplayRunner.ToJsonLine(w))!).ToList();
        var reference = RunReference(telemetry, phase);

        Assert.Equal(reference.Count, ours.Count);
        var tested = 0;
        for (var i = 0; i < ours.Count; i++)
        {
            var where = $"phase {phase} seed {seed}, window {ours[i]["window_start"]}";
            Assert.Equal((string?)reference[i]["phase"], (string?)ours[i]["phase"]);
            Assert.True((string?)reference[i]["status"] == (string?)ours[i]["status"],
                $"{where}: status ours {ours[i]["status"]}, reference {reference[i]["status"]}");
            if (reference[i]["confidence"] is not JsonObject refConf)
            {
                Assert.Null(ours[i]["gate"]);
                continue;
            }
            foreach (var (refName, ourName) in new[] { ("save_p95_s", "p95_s"), ("error_rate_pct", "error_rate_pct") })
            {
                var r = refConf[refName]!;
                var o = ours[i]["gate"]!["metrics"]![ourName]!;
                Assert.True((string?)r["decided_by"] == (string?)o["decided_by"], $"{where} {ourName}: decided_by ours {o["decided_by"]}, reference {r["decided_by"]}");
                Assert.Equal((string?)r["reason"], (string?)o["reason"]);
                for (var t = 0; t < 3; t++)
                {
                    var (rt, ot) = (r["tests"]![t]!, o["tests"]![t]!);
                    Assert.Equal((string?)rt["look_back"], (string?)ot["look_back"]);
                    Assert.Equal((long)rt["n"]!, (long)ot["n"]!);
                    Assert.Equal((long)rt["count"]!, (long)ot["count"]!);
                    Assert.Equal((bool)rt["significant"]!, (bool)ot["significant"]!);
                    var (rp, op) = (rt["p_value"], ot["p_value"]);
                    Assert.Equal(rp is null, op is null);
                    if (rp is null) continue;
                    tested++;
                    var (x, y) = ((double)op!, (double)rp);
                    Assert.True(Math.Abs(x - y) <= 1e-9 * Math.Max(y, 1e-300) || Math.Abs(x - y) < 1e-15,
                        $"{where} {ourName} {rt["look_back"]}: p ours {x:R}, reference {y:R}");
                }
            }
        }
        Assert.True(tested > 0);
    }

    private static List<JsonNode> RunReference(string telemetry, string phase)
    {
        var psi = new ProcessStartInfo("python3")
        {
            ArgumentList = { RepoFiles.PathOf("tests/reference/reference_metrics.py"), "--telemetry", telemetry, "--phase", phase,
                "--policy", RepoFiles.PathOf("policy.yaml") },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("python3 could not be started");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"reference_metrics.py failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
    }
}
