using System.Diagnostics;
using System.Text.Json.Nodes;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Cli;

/// <summary>The real <c>autosave-rollout</c> binary, run as a process in a scratch working directory.</summary>
public sealed class CliProcessTests : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-cli-").FullName;

    public CliProcessTests() => File.Copy(RepoFiles.PointPolicy, Path.Combine(_cwd, "policy.yaml"));

    public void Dispose()
    {
        try { Directory.Delete(_cwd, true); } catch (IOException) { }
    }

    private static string Fixture(string name) => RepoFiles.PathOf("fixtures/telemetry/" + name);

    private Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => HostProcess.RunAsync(_cwd, args);

    [Fact]
    public async Task The_quick_start_replay_shows_the_violation_and_its_rollback()
    {
        var (exit, stdout, stderr) = await RunAsync("replay", "--telemetry", Fixture("autosave_phaseA_violation.jsonl"), "--phase", "A", "--dry-run");
        Assert.True(exit == 0, stderr);
        Assert.Contains("2026-11-20 09:00   A       4.378", stdout);
        Assert.Contains("violation", stdout);
        Assert.Contains("rollback A→off [dry-run]", stdout);
        Assert.Contains("[dry_run] runbook: Rollback invoked: `autosave-rollout rollback --flag autosave --from A --to off --reason \"p95_s violation\" --decision dec-20261120T0900Z-A-", stdout);
        Assert.Contains("8 windows: 4 ok, 1 violation, 3 off", stdout);
        Assert.DoesNotContain("\u001b[", stdout); // no ANSI codes when redirected
    }

    [Fact]
    public async Task Replay_json_has_one_unrounded_line_per_window_with_nulls_when_undefined()
    {
        var json = Path.Combine(_cwd, "out.jsonl");
        var (exit, _, stderr) = await RunAsync("replay", "--telemetry", Fixture("autosave_low_traffic.jsonl"), "--phase", "B", "--dry-run", "--json", json, "--simulate-latency", "30");
        Assert.True(exit == 0, stderr);
        var lines = File.ReadAllLines(json).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(8, lines.Count);
        foreach (var key in new[] { "window_start", "phase", "p95_s", "error_rate_pct", "history_drift", "collector_latency_s", "status", "rollback_required" })
            Assert.All(lines, l => Assert.True(l.ContainsKey(key), key));
        Assert.All(lines, l => Assert.Equal(30.0, (double)l["collector_latency_s"]!));
        Assert.All(lines, l => Assert.Equal("inconclusive", (string?)l["status"]));
        Assert.Equal("2026-11-20T08:00:00+00:00", (string?)lines[0]["window_start"]);
    }

    [Fact]
    public async Task Status_after_a_replay_shows_phase_rollback_active_and_decisions()
    {
        Assert.Equal(0, (await RunAsync("replay", "--telemetry", Fixture("autosave_phaseA_violation.jsonl"), "--phase", "A", "--dry-run")).Exit);
        var (exit, stdout, stderr) = await RunAsync("status", "--store", ".rollout/replay");
        Assert.True(exit == 0, stderr);
        Assert.Contains("phase: off", stdout);
        Assert.Contains("rollback_active: true (decision dec-20261120T0900Z-A-", stdout);
        Assert.Contains("violation", stdout);
    }

    [Fact]
    public async Task A_bad_policy_stops_with_exit_2_and_file_line_column_and_key()
    {
        File.WriteAllText(Path.Combine(_cwd, "bad.yaml"), "rollout:\n  warn_ratio: 1.5\n  phases:\n    A: {slo: {}}\n    B: {slo: {}}\n    C: {slo: {}}\n");
        var (exit, stdout, stderr) = await RunAsync("replay", "--telemetry", Fixture("autosave_phaseA_clean.jsonl"), "--phase", "A", "--policy", "bad.yaml", "--dry-run");
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        var line = Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.StartsWith("error: bad.yaml:2:15: rollout.warn_ratio: ", line);
    }

    [Fact]
    public async Task Sending_without_configuration_stops_with_exit_2_naming_the_setting()
    {
        var (exit, _, stderr) = await RunAsync("replay", "--telemetry", Fixture("autosave_phaseA_clean.jsonl"), "--phase", "A");
        Assert.Equal(2, exit);
        Assert.Contains("Slack__Webhooks__", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
    }

    [Theory]
    [InlineData("replay", "--telemetry", "nope.jsonl", "--phase", "A", "--dry-run")]
    [InlineData("replay", "--telemetry", "X", "--phase", "D", "--dry-run")]
    [InlineData("replay", "--phase", "A")]
    [InlineData("analyze", "--batch", "missing.jsonl", "--phase", "A")]
    [InlineData("rollback", "--flag", "autosave", "--from", "C", "--to", "A", "--reason", "x", "--decision", "d", "--dry-run")]
    [InlineData("run", "--telemetry", ".", "--schedule", "not a cron", "--dry-run")]
    public async Task Bad_input_exits_with_2(params string[] args)
    {
        var (exit, _, stderr) = await RunAsync(args);
        Assert.Equal(2, exit);
        Assert.StartsWith("error: ", stderr);
    }

    [Fact]
    public async Task Analyze_prints_the_decision_of_one_batch_in_dry_run()
    {
        var (exit, stdout, stderr) = await RunAsync("analyze", "--batch", Fixture("autosave_error_rate_violation.jsonl"), "--phase", "B", "--dry-run");
        Assert.True(exit == 0, stderr);
        Assert.Contains("\"status\": \"violation\"", stdout);
        Assert.Contains("\"error_rate_pct\"", stdout);
        Assert.Contains("analysed as one batch", stderr);
        Assert.Contains("[dry_run] slack #incident-autosave: 🚨 AutoSave B violation", stdout);
    }

    [Fact]
    public async Task Run_collects_on_schedule_and_stops_gracefully_on_SIGINT()
    {
        var store = Path.Combine(_cwd, "store");
        using var p = Process.Start(HostProcess.StartInfo(_cwd, ["run", "--telemetry", Fixture("autosave_phaseA_clean.jsonl"), "--schedule", "*/2 * * * * *", "--dry-run", "--store", store]))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var decisions = Path.Combine(store, "blobs", "decisions");
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (DateTime.UtcNow < deadline && !(Directory.Exists(decisions) && Directory.EnumerateFiles(decisions, "*.json", SearchOption.AllDirectories).Any()))
            await Task.Delay(200);
        if (!Directory.Exists(decisions)) { p.Kill(true); Assert.Fail("no decision written by run: " + await stdout + await stderr); }

        using (var kill = Process.Start("kill", ["-INT", p.Id.ToString()])) await kill!.WaitForExitAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await p.WaitForExitAsync(cts.Token);
        Assert.Equal(0, p.ExitCode);
        var log = await stdout;
        Assert.Contains("collected ", log);
        Assert.Contains("Application is shutting down", log);
    }
}
