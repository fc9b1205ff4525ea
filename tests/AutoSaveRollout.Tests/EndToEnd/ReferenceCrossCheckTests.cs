using System.Diagnostics;
using System.Text.Json.Nodes;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Tests.Policy;

namespace AutoSaveRollout.Tests.EndToEnd;

/// <summary>
/// Replays every fixture in every phase, with and without collector latency, and compares each window's numbers and
/// statuses with <c>tests/reference/reference_metrics.py</c>, an independent implementation of the spec written without
/// reading the C# code (Python standard library; PyYAML reads the policy).
/// </summary>
public class ReferenceCrossCheckTests
{
    private static readonly string[] Compared =
        ["phase", "p95_s", "error_rate_pct", "history_drift", "collector_latency_s", "status", "rollback_required", "completed", "errors", "drift_events", "duplicates"];

    public static TheoryData<string, string, int> Cases()
    {
        var data = new TheoryData<string, string, int>();
        foreach (var f in Directory.EnumerateFiles(RepoFiles.PathOf("fixtures/telemetry"), "*.jsonl").Order())
            foreach (var phase in new[] { "A", "B", "C" })
                foreach (var latency in new[] { 0, 150 })
                    data.Add(Path.GetFileName(f), phase, latency);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Replay_matches_the_independent_reference(string fixture, string phase, int latency)
    {
        await using var h = await PipelineHarness.StartAsync(dryRun: true);
        PhaseExtensions.TryParse(phase, out var p);
        var ours = (await h.ReplayAsync(fixture, p, dryRun: true, latencySeconds: latency))
            .Select(w => JsonNode.Parse(ReplayRunner.ToJsonLine(w))!).ToList();
        var reference = RunReference(fixture, phase, latency);

        Assert.Equal(reference.Count, ours.Count);
        for (var i = 0; i < ours.Count; i++)
        {
            Assert.Equal(DateTimeOffset.Parse((string)reference[i]["window_start"]!), DateTimeOffset.Parse((string)ours[i]["window_start"]!));
            foreach (var key in Compared)
            {
                var (a, b) = (ours[i][key], reference[i][key]);
                var where = $"{fixture} phase {phase} latency {latency}, window {ours[i]["window_start"]}, {key}";
                if (a is JsonValue av && b is JsonValue bv && av.TryGetValue<double>(out var x) && bv.TryGetValue<double>(out var y))
                    Assert.True(Math.Abs(x - y) <= 1e-9 * Math.Max(1, Math.Abs(y)), $"{where}: ours {x}, reference {y}");
                else
                    Assert.True(JsonNode.DeepEquals(a, b), $"{where}: ours {a?.ToJsonString() ?? "null"}, reference {b?.ToJsonString() ?? "null"}");
            }
        }
    }

    private static List<JsonNode> RunReference(string fixture, string phase, int latency)
    {
        var psi = new ProcessStartInfo("python3")
        {
            ArgumentList = { RepoFiles.PathOf("tests/reference/reference_metrics.py"), "--telemetry", RepoFiles.PathOf("fixtures/telemetry/" + fixture),
                "--phase", phase, "--latency", latency.ToString(), "--policy", RepoFiles.PointPolicy },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(psi) ?? throw new InvalidOperationException("python3 could not be started (the reference needs python3 with PyYAML)");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, $"reference_metrics.py failed ({process.ExitCode}): {stderr.Result}");
        return stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
    }
}
