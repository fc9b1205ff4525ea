using System.Globalization;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Lifecycle;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using HostRun = AutoSaveRollout.Tests.Support.HostProcess;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Cli;

/// <summary>
/// The lifecycle commands of the real binary (<c>approve</c>, <c>review-failure</c>, <c>waive</c>, <c>rca</c>) and the
/// lifecycle lines of <c>status</c>, on an embedded store seeded as the pipeline leaves it (phase A, eligible, a decision
/// whose batch checks out). The binary runs on the system clock, so the seed is placed relative to now.
/// </summary>
public sealed class LifecycleCliProcessTests : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-lifecycle-cli-").FullName;
    private readonly string _blobRoot;
    private readonly FileBlobStore _blobs;
    private readonly RolloutPolicy _policy = PolicyLoader.LoadFile(RepoFiles.PointPolicy);
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private readonly DateTimeOffset _phaseSince;
    private readonly TimeWindow _window;

    public LifecycleCliProcessTests()
    {
        File.Copy(RepoFiles.PointPolicy, Path.Combine(_cwd, "policy.yaml"));
        _blobRoot = PipelineFactory.BlobRoot(Path.Combine(_cwd, PipelineFactory.DefaultStorageRoot));
        _blobs = new FileBlobStore(_blobRoot);
        _phaseSince = TimeWindow.Containing(_now.AddDays(-2)).Start;
        _window = TimeWindow.LastClosedAt(_now).Previous;
    }

    public void Dispose()
    {
        try { Directory.Delete(_cwd, true); } catch (IOException) { }
    }

    private static string Minutes(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm'Z'", CultureInfo.InvariantCulture);
    private static string Shown(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + " UTC";
    private static string Stamp(DateTimeOffset t) => t.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    private async Task SeedAsync()
    {
        await StoreSeed.StateAsync(_blobs, _policy, "A", _phaseSince, _window);
        await StoreSeed.DecisionAndDashboardAsync(_blobs, _window, "A", _now);
    }

    private Task<(int Exit, string Out, string Err)> RunAsync(params string[] args) => HostRun.RunAsync(_cwd, args);

    private Task<(int Exit, string Out, string Err)> RunAsync(IReadOnlyDictionary<string, string> env, params string[] args) => HostRun.RunAsync(_cwd, args, env);

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    private Task<IReadOnlyList<AuditEntry>> AuditAsync() => new AuditLog(_blobs, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).ReadAsync();

    // A recorded approval, as `approve` without --dry-run leaves it (a dry run records none: issue 10).
    private Task RecordApprovalAsync(string role, string actor, string? evidence = null) =>
        new AuditLog(_blobs, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance).AppendOnceAsync(new AuditEntry
        {
            Id = $"apr-seeded-{role}", Type = AuditEntryType.Approval, At = _now.AddMinutes(-30), Flag = StoreSeed.Flag, Phase = "A", Target = "B",
            Role = role, Actor = actor, Evidence = evidence, PhaseSince = _phaseSince, PolicySha256 = _policy.Sha256,
        });

    [Fact]
    public async Task Approve_in_dry_run_previews_the_move_without_recording_the_approval_and_status_shows_only_recorded_ones()
    {
        await SeedAsync();

        var (exit, stdout, stderr) = await RunAsync("approve", "--phase", "B", "--role", "sre", "--approver", "alice@example.com",
            "--evidence", "https://github.com/org/repo/pull/7", "--dry-run");
        Assert.True(exit == 0, stderr);
        var lines = Lines(stdout);
        Assert.Equal(2, lines.Length);
        Assert.Equal("[dry-run] not recorded: sre=alice@example.com for A → B", lines[0]);
        Assert.Equal("move A → B: waiting for approval by dev_lead", lines[1]);
        Assert.Empty(await AuditAsync());

        (exit, stdout, stderr) = await RunAsync("status");
        Assert.True(exit == 0, stderr);
        Assert.Contains($"phase since: {Shown(_phaseSince)}\n", stdout.ReplaceLineEndings("\n"));
        Assert.Contains("approvals for A → B: none; still needed: sre, dev_lead", stdout);

        // With sre's approval recorded, everything holds; a dry run still never moves a live rollout, nor records dev_lead.
        await RecordApprovalAsync("sre", "alice@example.com", "https://github.com/org/repo/pull/7");
        (exit, stdout, stderr) = await RunAsync("approve", "--phase", "B", "--role", "dev_lead", "--approver", "bob", "--dry-run");
        Assert.True(exit == 0, stderr);
        Assert.Equal("[dry-run] move A → B: ready with this approval; approve without --dry-run to record it (the next tick then moves the phase)",
            Lines(stdout)[1]);

        var audit = await AuditAsync();
        Assert.Equal([AuditEntryType.Approval], audit.Select(e => e.Type).ToArray());
        Assert.Equal("https://github.com/org/repo/pull/7", audit[0].Evidence);
        Assert.Equal("A", (await StoreSeed.ReadStateAsync(_blobs)).Phase);
        Assert.False(Directory.Exists(Path.Combine(_blobRoot, "reports", "outbox", "lifecycle")));

        (exit, stdout, stderr) = await RunAsync("status");
        Assert.True(exit == 0, stderr);
        Assert.Contains("phase: A", stdout);
        Assert.Matches(@"approvals for A → B: sre=alice@example\.com \([^)]*\); still needed: dev_lead\r?\n", stdout);
    }

    [Fact]
    public async Task Approve_with_Slack_PagerDuty_and_the_flag_service_configured_moves_the_phase_through_them()
    {
        await SeedAsync();
        await using var slack = await RecordingServer.StartAsync();
        await using var flags = await RecordingServer.StartAsync();
        await using var pagerDuty = await FakePagerDuty.StartAsync(TimeProvider.System);
        slack.UseSlackDefaults("/hooks/rollout");
        slack.UseSlackDefaults("/hooks/incident-autosave");
        slack.UseSlackDefaults("/hooks/incident");
        flags.UseFlagServiceDefaults();
        var env = new Dictionary<string, string>
        {
            ["Slack__Webhooks__autosave_rollout"] = slack.Url("/hooks/rollout").ToString(),
            ["Slack__Webhooks__incident_autosave"] = slack.Url("/hooks/incident-autosave").ToString(),
            ["Slack__Webhooks__incident"] = slack.Url("/hooks/incident").ToString(),
            ["FlagService__BaseUrl"] = flags.BaseUri.ToString(),
            ["FlagService__Token"] = "flag-t0ken",
        };
        foreach (var (k, v) in pagerDuty.Settings()) env[k.Replace(":", "__")] = v!;

        // An incident of this phase, acknowledged at once: the acknowledgement check asks the PagerDuty REST API.
        var incident = StoreSeed.Incident(_window, "A", _now);
        using (var http = new HttpClient())
        {
            var trigger = new JsonObject
            {
                ["routing_key"] = FakePagerDuty.RoutingKey, ["event_action"] = "trigger", ["dedup_key"] = incident.DedupKey,
                ["payload"] = new JsonObject { ["summary"] = "s", ["source"] = "t", ["severity"] = "critical" },
            };
            using var response = await http.PostAsync(pagerDuty.EventsUrl, new StringContent(trigger.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(202, (int)response.StatusCode);
        }
        pagerDuty.Acknowledge(incident.DedupKey, pagerDuty.IncidentFor(incident.DedupKey)!.CreatedAt.AddMinutes(3));
        await StoreSeed.LedgerAsync(_blobs, incident with { TriggeredAt = pagerDuty.IncidentFor(incident.DedupKey)!.CreatedAt });

        var (exit, stdout, stderr) = await RunAsync(env, "approve", "--phase", "B", "--role", "sre", "--approver", "alice");
        Assert.True(exit == 0, stderr);
        Assert.Empty(flags.Requests);
        (exit, stdout, stderr) = await RunAsync(env, "approve", "--phase", "B", "--role", "dev_lead", "--approver", "bob");
        Assert.True(exit == 0, stderr);

        var moveId = $"move-autosave-A-B-{Stamp(_phaseSince)}";
        Assert.Equal($"moved: A → B ({moveId})", Lines(stdout)[1]);
        var call = Assert.Single(flags.Requests);
        Assert.Equal(("/flags/autosave/phase", moveId, "Bearer flag-t0ken"), (call.Path, call.Header("Idempotency-Key"), call.Header("Authorization")));
        Assert.Equal(("A", "B", moveId), ((string?)call.JsonBody()!["from_phase"], (string?)call.JsonBody()!["to_phase"], (string?)call.JsonBody()!["move_id"]));
        var post = Assert.Single(slack.RequestsTo("/hooks/rollout"));
        Assert.Equal($"🚀 AutoSave promoted A → B / exposure=30% / approved_by=sre=alice,dev_lead=bob / evidence=passed / move={moveId}",
            (string?)post.JsonBody()!["text"]);
        Assert.Contains(pagerDuty.Requests, r => r.Method == "GET" && r.Path == "/incidents");
        Assert.Empty(pagerDuty.Rejections);
        Assert.Equal(pagerDuty.IncidentFor(incident.DedupKey)!.CreatedAt.AddMinutes(3), Assert.Single(await StoreSeed.ReadLedgerAsync(_blobs)).RespondedAt);
        Assert.DoesNotContain("flag-t0ken", stdout + stderr);
    }

    [Fact]
    public async Task Bad_input_exits_2_with_a_one_line_reason_and_records_nothing()
    {
        await SeedAsync();
        await StoreSeed.RetryFailureAsync(_blobs, _window.Previous, _now);
        File.WriteAllText(Path.Combine(_cwd, "empty.md"), "  \n");
        File.WriteAllText(Path.Combine(_cwd, "rca.md"), "# RCA\n");
        var noFailure = _window.Previous.Previous;
        var cases = new (string[] Args, string Error)[]
        {
            (["approve", "--phase", "C", "--role", "sre", "--approver", "alice", "--dry-run"], "error: the rollout is in phase A; the next move is to B, not 'C'"),
            (["approve", "--phase", "B", "--role", "governance", "--approver", "gina", "--dry-run"],
                "error: A → B is approved by sre, dev_lead; 'governance' is not one of them"),
            (["approve", "--phase", "B", "--role", "sre", "--approver", "alice", "--evidence", "ftp://files.example.com/x", "--dry-run"],
                "error: --evidence must be an absolute http(s) URL"),
            (["approve", "--phase", "B", "--role", "sre", "--approver", "alice", "--evidence", "https://u:s3cr3t@example.com/x", "--dry-run"],
                "error: --evidence must not embed credentials"),
            (["approve", "--phase", "B", "--role", "sre", "--approver", "al\u0001ice", "--dry-run"], "error: --approver must not contain control characters"),
            (["approve", "--phase", "B", "--role", "sre", "--approver", "alice"],
                "error: configuration: no Slack webhook for #autosave-rollout (set Slack__Webhooks__autosave_rollout, or use --dry-run)"),
            (["approve", "--phase", "B", "--role", "sre", "--approver", "alice", "--dry-run", "--store", "nowhere"],
                $"error: no pipeline data in {Path.Combine(_cwd, "nowhere")} (run `run` or `replay` first, or pass --store)"),
            (["review-failure", "--window", "2026-11-20T10:07Z", "--reviewer", "ana", "--cause", "c", "--task", "t"],
                "error: --window must be a window start (a multiple of 15 minutes), e.g. 2026-11-20T10:00:00Z"),
            (["review-failure", "--window", "yesterday", "--reviewer", "ana", "--cause", "c", "--task", "t"],
                "error: --window must be a UTC time such as 2026-11-21T10:15Z (got 'yesterday')"),
            (["review-failure", "--window", Minutes(noFailure.Start), "--reviewer", "ana", "--cause", "c", "--task", "t"],
                $"error: no retry failure is recorded for window {noFailure} (see reports/monitoring/retry_failures.jsonl)"),
            (["review-failure", "--window", Minutes(_window.Previous.Start), "--reviewer", "ana", "--cause", " ", "--task", "t"], "error: --cause is required"),
            (["waive", "--incident", "nope", "--approver", "gina", "--reason", "r"], "error: no incident 'nope' in the ledger (state/incidents.json)"),
            (["rca", "--file", "empty.md"], "error: empty.md is empty"),
            (["rca", "--file", "rca.md", "--date", "21-11-2026"], "error: --date must be yyyy-MM-dd (got '21-11-2026')"),
            (["rca", "--file", "missing.md"], $"error: Could not find file '{Path.Combine(_cwd, "missing.md")}'."),
        };

        foreach (var (args, error) in cases)
        {
            var (exit, stdout, stderr) = await RunAsync(args);
            var what = string.Join(' ', args);
            Assert.True(exit == 2, $"{what}: exit {exit}\n{stdout}{stderr}");
            Assert.True(stdout == "", $"{what}: printed {stdout}");
            Assert.Equal((what, error), (what, stderr.TrimEnd('\n')));
        }
        Assert.Empty(await AuditAsync());
        Assert.Equal("A", (await StoreSeed.ReadStateAsync(_blobs)).Phase);
        Assert.False(Directory.Exists(Path.Combine(_blobRoot, "reports", "rca")));
    }

    [Fact]
    public async Task A_move_blocked_by_a_retry_failure_is_ready_after_review_failure_and_waive()
    {
        await SeedAsync();
        var failed = _window.Previous;
        await StoreSeed.RetryFailureAsync(_blobs, failed, _now.AddMinutes(-5));
        var incident = StoreSeed.Incident(_window, "A", _now.AddHours(-1));
        await StoreSeed.LedgerAsync(_blobs, incident);
        var reason = $"retry failure of window {failed} is not reviewed (review-failure --window {Minutes(failed.Start)})";

        await RecordApprovalAsync("sre", "alice");
        var (exit, stdout, stderr) = await RunAsync("approve", "--phase", "B", "--role", "dev_lead", "--approver", "bob", "--dry-run");
        Assert.True(exit == 0, stderr);
        // In dry-run there is no PagerDuty REST API to ask about the (real) incident.
        var unverifiable = $"cannot verify that incident {incident.Id} was acknowledged within 15 min: the PagerDuty REST API is not configured (PagerDuty:ApiToken)";
        Assert.Equal(["move A → B blocked:", "  - " + unverifiable, "  - " + reason], Lines(stdout)[1..]);

        (exit, stdout, stderr) = await RunAsync("status");
        Assert.True(exit == 0, stderr);
        var status = stdout.ReplaceLineEndings("\n");
        // A dry-run preview announces and records nothing: status lists blocked reasons only once a pipeline tick found them.
        Assert.DoesNotContain("move blocked by evidence checks", status);
        Assert.Contains($"incident {incident.Id} (phase A, triggered {Shown(incident.TriggeredAt)}): not acknowledged; RCA due {Shown(incident.TriggeredAt.AddHours(24))}\n", status);

        (exit, stdout, stderr) = await RunAsync("review-failure", "--window", Minutes(failed.Start), "--reviewer", "ana", "--cause", "telemetry DNS outage",
            "--task", "https://tracker.example.com/OPS-1");
        Assert.True(exit == 0, stderr);
        Assert.Matches($@"^reviewed: retry failure of window {failed} by ana at \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(rev-{failed.Id}\)\n$", stdout.ReplaceLineEndings("\n"));

        (exit, stdout, stderr) = await RunAsync("waive", "--incident", incident.Id, "--approver", "gina", "--reason", "acknowledged by phone; PagerDuty app was down");
        Assert.True(exit == 0, stderr);
        Assert.Matches($@"^waived: pagerduty_ack of {incident.Id} by gina at \d{{4}}-\d\d-\d\dT\d\d:\d\d:\d\dZ \(waive-{incident.Id}-pagerduty_ack\)\n$",
            stdout.ReplaceLineEndings("\n"));

        // Now every check passes: with dev_lead's approval recorded the next tick would move (the dry run records none).
        (exit, stdout, stderr) = await RunAsync("approve", "--phase", "B", "--role", "dev_lead", "--approver", "bob", "--dry-run");
        Assert.True(exit == 0, stderr);
        Assert.Equal("[dry-run] move A → B: ready with this approval; approve without --dry-run to record it (the next tick then moves the phase)",
            Lines(stdout)[1]);
        Assert.Equal([AuditEntryType.Approval, AuditEntryType.RetryFailureReviewed, AuditEntryType.EvidenceWaived],
            (await AuditAsync()).Select(e => e.Type).ToArray());
    }

    [Fact]
    public async Task Rca_stores_the_file_under_its_date_and_appends_a_second_one_of_that_day()
    {
        await SeedAsync();
        var incident = StoreSeed.Incident(_window, "A", _now.AddHours(-1));
        await StoreSeed.LedgerAsync(_blobs, incident with { Id = "dec-1", DedupKey = "autosave/A/1" }, incident with { Id = "dec-2", DedupKey = "autosave/A/2" });
        File.WriteAllText(Path.Combine(_cwd, "first.md"), "# RCA dec-1\nroot cause: slow disk\n\n");
        File.WriteAllText(Path.Combine(_cwd, "second.md"), "# RCA dec-2\nroot cause: bad deploy\n");

        var (exit, stdout, stderr) = await RunAsync("rca", "--file", "first.md", "--date", "2025-03-04");
        Assert.True(exit == 0, stderr);
        Assert.Equal("stored: reports/rca/2025-03-04.md\n", stdout.ReplaceLineEndings("\n"));
        (exit, stdout, stderr) = await RunAsync("rca", "--file", "second.md", "--date", "2025-03-04");
        Assert.True(exit == 0, stderr);
        Assert.Equal("stored: reports/rca/2025-03-04.md (appended)\n", stdout.ReplaceLineEndings("\n"));
        Assert.Equal("# RCA dec-1\nroot cause: slow disk\n\n---\n\n# RCA dec-2\nroot cause: bad deploy\n",
            File.ReadAllText(Path.Combine(_blobRoot, "reports", "rca", "2025-03-04.md")));

        var before = DateOnly.FromDateTime(DateTime.UtcNow);
        (exit, stdout, stderr) = await RunAsync("rca", "--file", "second.md");
        var after = DateOnly.FromDateTime(DateTime.UtcNow);
        Assert.True(exit == 0, stderr);
        Assert.Contains(stdout.TrimEnd('\n'), new[] { before, after }.Select(d => $"stored: {StorePaths.Rca(d)}"));
    }

    [Fact]
    public async Task Rca_refuses_a_file_that_names_no_incident_of_the_ledger_and_stores_nothing()
    {
        await SeedAsync();
        File.WriteAllText(Path.Combine(_cwd, "vague.md"), "# RCA\nsomething was slow\n");
        var (exit, stdout, stderr) = await RunAsync("rca", "--file", "vague.md");
        Assert.Equal((2, ""), (exit, stdout));
        Assert.Equal("error: vague.md names no incident: the ledger (state/incidents.json) holds none to write an RCA for", stderr.TrimEnd('\n'));

        var incident = StoreSeed.Incident(_window, "A", _now.AddHours(-1));
        await StoreSeed.LedgerAsync(_blobs, incident);
        (exit, stdout, stderr) = await RunAsync("rca", "--file", "vague.md");
        Assert.Equal((2, ""), (exit, stdout));
        Assert.Equal($"error: vague.md names no incident of the ledger (state/incidents.json); name its id, e.g. {incident.Id}", stderr.TrimEnd('\n'));
        Assert.False(Directory.Exists(Path.Combine(_blobRoot, "reports", "rca")));

        // Naming the incident by its dedup key is enough (the RCA search matches every name of an incident).
        File.WriteAllText(Path.Combine(_cwd, "named.md"), $"# RCA {incident.DedupKey}\nslow disk\n");
        (exit, stdout, stderr) = await RunAsync("rca", "--file", "named.md", "--date", "2025-03-04");
        Assert.True(exit == 0, stderr);
        Assert.Equal("stored: reports/rca/2025-03-04.md\n", stdout.ReplaceLineEndings("\n"));
    }
}
