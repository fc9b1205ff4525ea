using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Outboxes;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>
/// Configured secrets (Slack webhook URLs and their token segment, the PagerDuty routing key, the flag-service token, the
/// telemetry token, storage account keys and SAS signatures) never appear in any output: logs, stdout/stderr, stored
/// records (decisions, manifests, dashboard, runbook, notifications, outbox, dead letters, queue files), exception
/// messages and stack traces — even when every peer fails with an error body that echoes the credentials back.
/// Also: Slack mrkdwn injection through interpolated values, and the https-unless-loopback rule end to end.
/// </summary>
public sealed class SecretLeakTests : IDisposable
{
    private const string TelemetryToken = "t3lemetryT0ken5ecretMm42";
    private readonly string _dir = Directory.CreateTempSubdirectory("autosave-secrets-").FullName;
    private readonly RolloutPolicy _policy = PolicyLoader.LoadFile(RepoFiles.PointPolicy);

    public SecretLeakTests() => File.Copy(RepoFiles.PointPolicy, Path.Combine(_dir, "policy.yaml"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    /// <summary>Every peer refuses, quoting the caller's credentials back (as a misconfigured proxy or a chatty service might).</summary>
    private static void FailEchoingSecrets(FakePeers peers)
    {
        peers.Failure = (kind, r) => kind switch
        {
            PeerKind.Slack => (404, $"no_service: webhook {peers.Slack.Url(r.Path)} with token {r.Path[(r.Path.LastIndexOf('/') + 1)..]} is disabled"),
            PeerKind.PagerDuty => (400, new JsonObject
            {
                ["status"] = "invalid event", ["message"] = "Event object is invalid",
                ["errors"] = new JsonArray($"routing_key {FakePeers.RoutingKey} is not an integration key", "body was " + r.Body),
            }.ToJsonString()),
            _ => (401, $"token {FakePeers.FlagToken} rejected (header was '{r.Header("Authorization")}')"),
        };
    }

    internal static void AssertNoSecrets(IEnumerable<string> secrets, string where, string text)
    {
        foreach (var secret in secrets)
        {
            var at = text.IndexOf(secret, StringComparison.Ordinal);
            if (at < 0) at = text.IndexOf(Uri.EscapeDataString(secret), StringComparison.Ordinal);
            Assert.True(at < 0, $"secret '{secret}' found in {where}: …{text.Substring(Math.Max(0, at - 80), Math.Min(text.Length - Math.Max(0, at - 80), 200))}…");
        }
    }

    /// <summary>Every file under <paramref name="root"/> (blobs, queue messages, locks), as text.</summary>
    internal static IEnumerable<(string Path, string Text)> Files(string root) =>
        Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Select(f => (f, Encoding.UTF8.GetString(File.ReadAllBytes(f))));

    [Fact]
    public async Task Failing_peers_that_echo_secrets_leave_no_secret_in_records_exceptions_or_logs()
    {
        await using var peers = await FakePeers.StartAsync();
        FailEchoingSecrets(peers);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var store = Path.Combine(_dir, "store");
        var ports = PipelineFactory.CreatePorts(peers.Configuration(), StorageSelection.Embedded(store), TimeProvider.System, dryRun: false, _policy, http);
        var templates = TemplateRenderer.Load();
        var results = await new ReplayRunner(ports, _policy, templates).RunAsync(
            new FileTelemetrySource(RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl")),
            new ReplayOptions(Phase.A, DryRun: false, TimeSpan.Zero, new QueueProcessingOptions { MaxDequeueCount = 2 }));
        var decision = results.Single(r => r.Decision!.RollbackRequired).Decision!;

        // The same failures once more, straight from the Reporter (with a logger) and from each adapter.
        var log = new ListLogger();
        var reporter = new Reporter(ports.Blobs, _policy, templates, ports.Slack, ports.PagerDuty, ports.Flags, TimeProvider.System,
            new ReporterOptions(), log.For<Reporter>());
        var thrown = new List<Exception> { await Assert.ThrowsAsync<ReportDeliveryException>(() => reporter.ReportAsync(decision)) };
        thrown.Add(await Assert.ThrowsAsync<DeliveryException>(() => ports.Slack.PostAsync("#incident-autosave", "x")));
        thrown.Add(await Assert.ThrowsAsync<DeliveryException>(() => ports.PagerDuty.SendAsync(PagerDutyTriggers.BuildTrigger(decision, "x", new ReporterOptions().PagerDutySource))));
        thrown.Add(await Assert.ThrowsAsync<DeliveryException>(() => ports.Flags.RollbackAsync(new FlagRollbackRequest("autosave", "A", "off", "x", "dec-1"))));

        var secrets = peers.Secrets;
        foreach (var ex in thrown) AssertNoSecrets(secrets, "exception " + ex.GetType().Name, ex.ToString());
        foreach (var line in log.Lines) AssertNoSecrets(secrets, "log", line);
        foreach (var (path, text) in Files(store)) AssertNoSecrets(secrets, path, text);

        // The error bodies were quoted, with the secrets cut out (not dropped wholesale).
        var deadLetters = File.ReadAllText(Path.Combine(PipelineFactory.BlobRoot(store), QueueProcessor.DeadLetterLog));
        Assert.Contains("no_service: webhook [redacted] with token [redacted] is disabled", deadLetters);
        Assert.Contains("routing_key [redacted] is not an integration key", thrown[2].Message);
        Assert.Contains("token [redacted] rejected (header was 'Bearer [redacted]')", thrown[3].Message);
    }

    [Fact]
    public async Task The_replay_command_prints_and_stores_no_secret_when_every_peer_fails()
    {
        await using var peers = await FakePeers.StartAsync();
        FailEchoingSecrets(peers);
        var hostJson = Path.Combine(_dir, "host.json");
        File.WriteAllText(hostJson, """{"version": "2.0", "extensions": {"queues": {"maxDequeueCount": 2}}}""");
        var store = Path.Combine(_dir, "store");
        var (exit, stdout, stderr) = await HostProcess.RunAsync(_dir,
            ["replay", "--telemetry", RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl"), "--phase", "A", "--store", store, "--host-json", hostJson],
            peers.Environment());

        Assert.True(exit == 3, stderr); // completed with failed actions (issue 10: it exited 0)
        Assert.Contains("failed", stdout); // the failed actions are listed
        Assert.Contains("completed with ", stderr); // … and summed up on stderr, redacted like the rest
        AssertNoSecrets(peers.Secrets, "stdout", stdout);
        AssertNoSecrets(peers.Secrets, "stderr", stderr);
        var files = Files(store).ToList();
        Assert.Contains(files, f => f.Path.EndsWith("dead_letters.jsonl", StringComparison.Ordinal));
        foreach (var (path, text) in files) AssertNoSecrets(peers.Secrets, path, text);
    }

    [Fact]
    public async Task The_run_host_logs_and_stores_no_secret_when_telemetry_and_every_peer_fail()
    {
        await using var peers = await FakePeers.StartAsync();
        FailEchoingSecrets(peers);
        await using var telemetry = await RecordingServer.StartAsync();
        // The first pull is refused echoing the token; later pulls serve a slow window (P95 6 s: a violation in phase A).
        telemetry.Enqueue("/events", ScriptedResponse.Text(401, $"bad token {TelemetryToken}"));
        telemetry.ServeJsonLines("/events", r =>
        {
            var from = DateTimeOffset.Parse(r.Query["from"], CultureInfo.InvariantCulture);
            return Enumerable.Range(0, 120).Select(i =>
                $"{{\"event_id\":\"e{i}\",\"ts\":\"{from.AddSeconds(i * 7):yyyy-MM-dd'T'HH:mm:ss'Z'}\",\"event\":\"autosave.save.completed\",\"duration_ms\":6000}}");
        });
        var hostJson = Path.Combine(_dir, "host.json");
        File.WriteAllText(hostJson, """{"version": "2.0", "extensions": {"queues": {"maxDequeueCount": 2, "visibilityTimeout": "00:00:00", "maxPollingInterval": "00:00:01"}}}""");
        var store = Path.Combine(_dir, "store");
        var env = new Dictionary<string, string>(peers.Environment())
        {
            ["Telemetry__Url"] = telemetry.Url("/events").ToString(),
            ["Telemetry__Token"] = TelemetryToken,
        };

        using var p = Process.Start(HostProcess.StartInfo(_dir, ["run", "--schedule", "*/2 * * * * *", "--store", store, "--host-json", hostJson], env))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        var deadLetters = Path.Combine(PipelineFactory.BlobRoot(store), QueueProcessor.DeadLetterLog);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!File.Exists(deadLetters) && DateTime.UtcNow < deadline && !p.HasExited) await Task.Delay(200);
        using (var interrupt = Process.Start("kill", ["-INT", p.Id.ToString(CultureInfo.InvariantCulture)])) await interrupt!.WaitForExitAsync();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20))) await p.WaitForExitAsync(cts.Token);
        var (output, errors) = (await stdout, await stderr);

        Assert.True(File.Exists(deadLetters), $"no report was dead-lettered:\n{output}\n{errors}");
        Assert.Contains("collection failed", output);  // the refused pull was logged …
        Assert.Contains("[redacted]", output);          // … with its body quoted, token cut out
        Assert.Contains("failed (attempt 1/2)", output); // the failing report was logged and retried
        string[] secrets = [.. peers.Secrets, TelemetryToken];
        AssertNoSecrets(secrets, "run stdout", output);
        AssertNoSecrets(secrets, "run stderr", errors);
        foreach (var (path, text) in Files(store)) AssertNoSecrets(secrets, path, text);
    }

    [Fact]
    public async Task The_manual_rollback_command_prints_no_token_when_the_flag_service_refuses_it()
    {
        await using var peers = await FakePeers.StartAsync();
        FailEchoingSecrets(peers);
        var store = Path.Combine(_dir, "store");
        var (exit, stdout, stderr) = await HostProcess.RunAsync(_dir,
            ["rollback", "--flag", "autosave", "--from", "A", "--to", "off", "--reason", "p95_s violation", "--decision", "dec-1", "--store", store],
            peers.Environment());

        Assert.Equal(1, exit);
        Assert.Equal("error: rollback failed: flag-service: rollback of flag 'autosave' A→off (decision dec-1) failed: HTTP 401 token [redacted] rejected (header was 'Bearer [redacted]')",
            stderr.TrimEnd('\n'));
        AssertNoSecrets(peers.Secrets, "stdout", stdout);
    }

    // ---------------------------------------------------------------- Slack mrkdwn injection

    [Fact]
    public async Task Interpolated_values_reach_Slack_with_ampersand_and_angle_brackets_escaped()
    {
        await using var peers = await FakePeers.StartAsync();
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var ports = PipelineFactory.CreatePorts(peers.Configuration(), StorageSelection.Embedded(Path.Combine(_dir, "store")), TimeProvider.System,
            dryRun: false, _policy, http);
        // A template override with a deliberate control sequence of its own: that one must survive.
        var templatesDir = Directory.CreateDirectory(Path.Combine(_dir, "templates")).FullName;
        File.WriteAllText(Path.Combine(templatesDir, "autosave-incident.txt"), "<!here> 🚨 AutoSave {phase} violation / metric={metric} / rollback={cmd}");
        var reporter = new Reporter(ports.Blobs, _policy, TemplateRenderer.Load(templatesDir), ports.Slack, ports.PagerDuty, ports.Flags, TimeProvider.System);

        // A decision whose interpolated values carry Slack markup (as a hand-edited or older record could).
        const string hostile = "<!channel> <https://evil.example|click> & *bold* <@U123>";
        var decision = Json.FromBytes<DecisionRecord>(Json.ToBytes(SampleViolation())) with
        {
            Flag = "autosave",
            Violations = [hostile],
            Rollback = new RollbackPlan("A", "off", hostile, $"autosave-rollout rollback --flag autosave --reason \"{hostile}\""),
        };
        await reporter.ReportAsync(decision);

        var text = peers.SlackPosts.Keys.Single(k => k.StartsWith(FakePeers.IncidentHookPath, StringComparison.Ordinal))[(FakePeers.IncidentHookPath.Length + 1)..];
        const string escaped = "&lt;!channel&gt; &lt;https://evil.example|click&gt; &amp; *bold* &lt;@U123&gt;";
        Assert.Equal($"<!here> 🚨 AutoSave A violation / metric={escaped} / rollback=autosave-rollout rollback --flag autosave --reason \"{escaped}\"", text);
        // PagerDuty is not mrkdwn: its summary carries the text as is.
        var summary = (string?)JsonNode.Parse(peers.PagerDuty.Requests.Single().Body)!["payload"]!["summary"];
        Assert.Contains(hostile, summary);
    }

    private static DecisionRecord SampleViolation()
    {
        var metric = new DecisionMetric(4.2, 2.5, 2.0, "violation");
        return new DecisionRecord
        {
            DecisionId = "dec-20261120T0900Z-A-000000000000", Flag = "autosave",
            WindowStart = new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero), WindowEnd = new DateTimeOffset(2026, 11, 20, 9, 15, 0, TimeSpan.Zero),
            Phase = "A", Status = "violation", RollbackRequired = true,
            Metrics = new Dictionary<string, DecisionMetric>
            {
                ["p95_s"] = metric, ["error_rate_pct"] = new(0, 1, 0.8, "ok"), ["history_drift"] = new(0, 0, null, "ok"), ["collector_latency_s"] = new(0, 180, 144, "ok"),
            },
            Violations = ["p95_s"], Samples = new DecisionSamples(200, 0, 0, 0, 1),
            Rollback = new RollbackPlan("A", "off", "p95_s violation", "x"), NextPhase = "off", CollectorDelayed = false,
            PolicySha256 = "0", BatchSha256 = "0", BatchPath = "autosave/x.jsonl", DecidedAt = new DateTimeOffset(2026, 11, 20, 9, 15, 0, TimeSpan.Zero),
        };
    }

    // ---------------------------------------------------------------- https unless loopback, end to end

    [Theory]
    [InlineData("FlagService__BaseUrl", "http://flags.example.com/api", "error: configuration: FlagService BaseUrl must use https (plain http is accepted only for loopback hosts: localhost, 127.0.0.1, ::1)")]
    [InlineData("Slack__Webhooks__incident_autosave", "http://hooks.example.com/services/T1/B2/plainhttp5ecret", "error: configuration: Slack webhook for 'incident_autosave' must use https (plain http is accepted only for loopback hosts: localhost, 127.0.0.1, ::1)")]
    public async Task A_plain_http_endpoint_that_is_not_loopback_stops_the_command_with_exit_2_and_one_line(string setting, string url, string expected)
    {
        await using var peers = await FakePeers.StartAsync();
        var env = new Dictionary<string, string>(peers.Environment()) { [setting] = url };
        var (exit, stdout, stderr) = await HostProcess.RunAsync(_dir,
            ["replay", "--telemetry", RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_clean.jsonl"), "--phase", "A", "--store", Path.Combine(_dir, "s")], env);

        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal(expected, Assert.Single(stderr.TrimEnd('\n').Split('\n')));
        Assert.DoesNotContain(url, stderr);
    }
}

/// <summary>Storage credentials (account key, SAS signature) never appear in the output of a replay on Azurite, nor in what it stores.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class StorageSecretLeakTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("autosave-storage-secrets-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private async Task<string> ReplayAsync(string connection, int expectedExit)
    {
        File.Copy(RepoFiles.PointPolicy, Path.Combine(_dir, "policy.yaml"), overwrite: true);
        var (exit, stdout, stderr) = await HostProcess.RunAsync(_dir,
            ["replay", "--telemetry", RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl"), "--phase", "A", "--dry-run",
             "--storage", "azure", "--connection", connection, "--reset"]);
        Assert.True(exit == expectedExit, $"exit {exit}: {stderr}");
        return stdout + "\n" + stderr;
    }

    private async Task<string> StoredTextAsync(string cs)
    {
        var blobs = azurite.CreatePorts(connectionString: cs).Blobs;
        var sb = new StringBuilder();
        foreach (var container in ReplayStore.Containers)
            await foreach (var path in blobs.ListAsync(container + "/"))
                sb.Append(path).Append('\n').Append(Encoding.UTF8.GetString((await blobs.TryGetAsync(path))!.Content)).Append('\n');
        return sb.ToString();
    }

    [Fact]
    public async Task A_replay_with_an_account_key_prints_and_stores_no_key()
    {
        var output = await ReplayAsync(azurite.ConnectionString, 0);
        Assert.Contains("credential: shared key", output); // the storage is described, without its key
        string[] secrets = [AzuriteFixture.DevelopmentAccountKey, azurite.ConnectionString];
        SecretLeakTests.AssertNoSecrets(secrets, "replay output", output);
        SecretLeakTests.AssertNoSecrets(secrets, "stored blobs", await StoredTextAsync(azurite.ConnectionString));
    }

    [Fact]
    public async Task A_replay_with_a_SAS_prints_and_stores_no_signature()
    {
        var token = await NodeScript.RunAsync(azurite.RepoRoot, "make-sas.mjs",
            new Dictionary<string, string> { ["AZURE_STORAGE_CONNECTION_STRING"] = azurite.ConnectionString }, ["rwdlacup"]);
        var sig = token.Split('&').Single(p => p.StartsWith("sig=", StringComparison.Ordinal))[4..];
        var cs = $"BlobEndpoint={azurite.BlobEndpoint};QueueEndpoint={azurite.QueueEndpoint};SharedAccessSignature={token}";

        var output = await ReplayAsync(cs, 0);
        Assert.Contains("credential: shared access signature", output);
        string[] secrets = [sig, Uri.UnescapeDataString(sig), token];
        SecretLeakTests.AssertNoSecrets(secrets, "replay output", output);
        SecretLeakTests.AssertNoSecrets(secrets, "stored blobs", await StoredTextAsync(cs));
    }

    [Fact]
    public async Task Unreachable_storage_fails_with_exit_2_naming_neither_key_nor_signature()
    {
        const string key = "U3RvcmFnZUFjY291bnRLZXk1ZWNyZXRGb3JUZXN0cw==";
        var dead = RecordingServer.UnusedLoopbackUri();
        var output = await ReplayAsync(
            $"DefaultEndpointsProtocol=http;AccountName=acct;AccountKey={key};BlobEndpoint=http://127.0.0.1:{dead.Port}/acct;QueueEndpoint=http://127.0.0.1:{dead.Port}/acct;", 2);
        Assert.Contains("error: ", output);
        SecretLeakTests.AssertNoSecrets([key], "replay output", output);
        output = await ReplayAsync($"BlobEndpoint=http://127.0.0.1:{dead.Port}/acct;QueueEndpoint=http://127.0.0.1:{dead.Port}/acct;SharedAccessSignature=sv=2025-05-05&ss=bq&srt=sco&sp=rl&sig=U2lnbmF0dXJlNWVjcmV0", 2);
        SecretLeakTests.AssertNoSecrets(["U2lnbmF0dXJlNWVjcmV0"], "replay output", output);
    }
}
