using System.Diagnostics;
using System.Globalization;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Reliability;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Cli;

/// <summary>
/// Issue 10, honest exit codes and logs, on the real binary against local peers: <c>replay</c> exits 3 after one summary
/// line naming each failed or dead-lettered action, and <c>run</c> logs one information line per decision and one error
/// line per failed action.
/// </summary>
public sealed class ExitCodeAndLoggingCliProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("autosave-exit-cli-").FullName;

    public ExitCodeAndLoggingCliProcessTests() => File.Copy(RepoFiles.PointPolicy, Path.Combine(_dir, "policy.yaml"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, true); } catch (IOException) { }
    }

    private string HostJson()
    {
        var path = Path.Combine(_dir, "host.json");
        File.WriteAllText(path, """{"version": "2.0", "extensions": {"queues": {"maxDequeueCount": 2, "visibilityTimeout": "00:00:00", "maxPollingInterval": "00:00:01"}}}""");
        return path;
    }

    [Fact]
    public async Task Replay_exits_3_after_a_line_naming_the_failed_rollback_and_the_dead_lettered_report()
    {
        await using var peers = await FakePeers.StartAsync();
        peers.Failure = (kind, _) => kind == PeerKind.Flag ? (401, "unauthorized") : ((int, string)?)null; // permanent: no retries
        var (exit, stdout, stderr) = await HostProcess.RunAsync(_dir,
            ["replay", "--telemetry", RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl"), "--phase", "A", "--store", "store",
             "--host-json", HostJson()], peers.Environment(), TimeSpan.FromSeconds(120));

        Assert.True(exit == 3, $"exit {exit}\n{stdout}\n{stderr}");
        var summary = stderr.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n')[^1];
        Assert.StartsWith("completed with ", summary);
        Assert.Contains("flag_rollback:A->off (flag-service) failed after ", summary);
        Assert.Contains("autosave-report message ", summary);
        Assert.Contains(" dead-lettered after 2 deliveries: ", summary);
        Assert.Empty(peers.Rollbacks);
        SecretLeakTests.AssertNoSecrets(peers.Secrets, "stderr", stderr);

        // The same replay against healthy peers completes with 0 (replay clears its own store first).
        peers.Failure = null;
        (exit, stdout, stderr) = await HostProcess.RunAsync(_dir,
            ["replay", "--telemetry", RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl"), "--phase", "A", "--store", "store",
             "--host-json", HostJson()], peers.Environment(), TimeSpan.FromSeconds(120));
        Assert.True(exit == 0, $"exit {exit}\n{stdout}\n{stderr}");
        Assert.DoesNotContain("completed with", stderr);
    }

    [Fact]
    public async Task Run_logs_one_line_per_decision_and_an_error_line_per_failed_action()
    {
        await using var peers = await FakePeers.StartAsync();
        peers.Failure = (kind, _) => kind == PeerKind.Flag ? (401, "unauthorized") : ((int, string)?)null;
        await using var telemetry = await RecordingServer.StartAsync();
        // Every pulled window is slow (P95 6 s): a violation in phase A.
        telemetry.ServeJsonLines("/events", r =>
        {
            var from = DateTimeOffset.Parse(r.Query["from"], CultureInfo.InvariantCulture);
            return Enumerable.Range(0, 120).Select(i =>
                $"{{\"event_id\":\"e{i}\",\"ts\":\"{from.AddSeconds(i * 7):yyyy-MM-dd'T'HH:mm:ss'Z'}\",\"event\":\"autosave.save.completed\",\"duration_ms\":6000}}");
        });
        var store = Path.Combine(_dir, "store");
        var env = new Dictionary<string, string>(peers.Environment()) { ["Telemetry__Url"] = telemetry.Url("/events").ToString() };

        using var p = Process.Start(HostProcess.StartInfo(_dir, ["run", "--schedule", "*/2 * * * * *", "--store", store, "--host-json", HostJson()], env))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var deadLetters = Path.Combine(PipelineFactory.BlobRoot(store), QueueProcessor.DeadLetterLog);
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (!File.Exists(deadLetters) && DateTime.UtcNow < deadline && !p.HasExited) await Task.Delay(200);
        using (var interrupt = Process.Start("kill", ["-INT", p.Id.ToString(CultureInfo.InvariantCulture)])) await interrupt!.WaitForExitAsync();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20))) await p.WaitForExitAsync(cts.Token);
        var lines = (await stdout).ReplaceLineEndings("\n").Split('\n');

        var decisions = lines.Where(l => l.Contains(" decision dec-", StringComparison.Ordinal)).ToList();
        Assert.True(decisions.Any(l => System.Text.RegularExpressions.Regex.IsMatch(l,
            @" decision dec-\S+: window \S+ phase A status violation; violations: p95_s[^;]*; actions: .*flag_rollback:A->off failed")), string.Join("\n", lines));
        Assert.Contains(lines, l => l.Contains(" info: AutoSaveRollout.Core.Pipeline.Reporter", StringComparison.Ordinal) && l.Contains(" decision dec-", StringComparison.Ordinal));
        var failed = lines.Where(l => l.Contains(" fail: ", StringComparison.Ordinal) && l.Contains("flag_rollback:A->off (flag-service) failed, attempt ", StringComparison.Ordinal)).ToList();
        Assert.True(failed.Count >= 1, string.Join("\n", lines));
        SecretLeakTests.AssertNoSecrets(peers.Secrets, "run stdout", await stdout);
        SecretLeakTests.AssertNoSecrets(peers.Secrets, "run stderr", await stderr);
    }
}
