using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Core.Windows;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Lifecycle;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace AutoSaveRollout.Tests.Cli;

/// <summary>
/// Issue 10, items 5 and 6, on the real binary: every <c>--dry-run</c> leaves a live embedded store byte-identical (hashed
/// before and after), a dry-run approval never counts, and the manual <c>rollback</c> checks its flag and phase, can be
/// forced with a recorded reason, and needs only the flag-service settings.
/// </summary>
public sealed class DryRunAndRollbackCliProcessTests : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-dryrun-cli-").FullName;
    private readonly string _storeRoot;
    private readonly FileBlobStore _blobs;
    private readonly RolloutPolicy _policy = PolicyLoader.LoadFile(RepoFiles.PointPolicy);
    private readonly DateTimeOffset _now = DateTimeOffset.UtcNow;
    private readonly DateTimeOffset _phaseSince;
    private readonly TimeWindow _window;

    public DryRunAndRollbackCliProcessTests()
    {
        File.Copy(RepoFiles.PointPolicy, Path.Combine(_cwd, "policy.yaml"));
        _storeRoot = Path.Combine(_cwd, PipelineFactory.DefaultStorageRoot);
        _blobs = new FileBlobStore(PipelineFactory.BlobRoot(_storeRoot));
        _phaseSince = TimeWindow.Containing(_now.AddDays(-2)).Start;
        _window = TimeWindow.LastClosedAt(_now).Previous;
    }

    public void Dispose()
    {
        try { Directory.Delete(_cwd, true); } catch (IOException) { }
    }

    private static string Fixture(string name) => RepoFiles.PathOf("fixtures/telemetry/" + name);

    // A live store as the pipeline leaves it: phase A, eligible, a decision, and one recorded approval (sre=alice).
    private async Task SeedLiveStoreAsync()
    {
        await StoreSeed.StateAsync(_blobs, _policy, "A", _phaseSince, _window);
        await StoreSeed.DecisionAndDashboardAsync(_blobs, _window, "A", _now);
        await new AuditLog(_blobs, NullLogger.Instance).AppendOnceAsync(new AuditEntry
        {
            Id = "apr-seeded-sre", Type = AuditEntryType.Approval, At = _now.AddHours(-1), Flag = StoreSeed.Flag, Phase = "A", Target = "B",
            Role = "sre", Actor = "alice", PhaseSince = _phaseSince, PolicySha256 = _policy.Sha256,
        });
    }

    // Every file (relative path → SHA-256) and every folder of the store, except the OS lock files under .locks/: empty
    // files any reader (status included) takes a shared-stripe lock on, never records. They are checked to stay empty.
    private SortedDictionary<string, string> Snapshot()
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        static bool IsLock(string relative) => relative.Split('/').Contains(".locks");
        foreach (var dir in Directory.EnumerateDirectories(_storeRoot, "*", SearchOption.AllDirectories))
            if (Path.GetRelativePath(_storeRoot, dir) is var rel && !IsLock(rel)) result[rel + "/"] = "dir";
        foreach (var file in Directory.EnumerateFiles(_storeRoot, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(_storeRoot, file);
            if (!IsLock(rel)) result[rel] = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));
            else Assert.True(new FileInfo(file).Length == 0, $"lock file {rel} has content");
        }
        return result;
    }

    private static void AssertSame(SortedDictionary<string, string> before, SortedDictionary<string, string> after, string what)
    {
        var changed = before.Keys.Union(after.Keys).Where(k => !before.TryGetValue(k, out var b) || !after.TryGetValue(k, out var a) || a != b).ToList();
        Assert.True(changed.Count == 0, $"{what} changed the store: {string.Join(", ", changed)}");
    }

    private static string[] Lines(string text) => text.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');

    private static string[] Rollback(string flag, string from, string to, params string[] more) =>
        ["rollback", "--flag", flag, "--from", from, "--to", to, "--reason", "p95_s violation", "--decision", "dec-manual-1", "--initiator", "oncall", .. more];

    [Fact]
    public async Task Every_dry_run_leaves_a_live_store_byte_identical_and_a_dry_run_approval_never_counts()
    {
        await SeedLiveStoreAsync();
        var before = Snapshot();
        Assert.Contains("blobs/reports/governance/audit.jsonl", before.Keys);

        // approve --dry-run: checked and previewed as if recorded, nothing written.
        var (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "approve", "--phase", "B", "--role", "dev_lead", "--approver", "dana", "--dry-run");
        Assert.True(exit == 0, stderr);
        Assert.Equal(["[dry-run] not recorded: dev_lead=dana for A → B",
            "[dry-run] move A → B: ready with this approval; approve without --dry-run to record it (the next tick then moves the phase)"], Lines(stdout));
        AssertSame(before, Snapshot(), "approve --dry-run");
        // The approval was not stored, so it cannot count later: the audit log still holds only sre=alice.
        var audit = await new AuditLog(_blobs, NullLogger.Instance).ReadAsync();
        Assert.Equal(["sre=alice"], audit.Select(e => $"{e.Role}={e.Actor}").ToArray());

        // rollback --dry-run: checked and printed, no runbook line, no state change.
        (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, Rollback("autosave", "A", "off", "--dry-run"));
        Assert.True(exit == 0, stderr);
        Assert.StartsWith("[dry-run] ", stdout);
        Assert.Contains("[dry-run] nothing was sent or written", stdout);
        AssertSame(before, Snapshot(), "rollback --dry-run");

        // A forced dry run records nothing either.
        (exit, _, stderr) = await HostProcess.RunAsync(_cwd, Rollback("autosave", "B", "A", "--force", "--dry-run"));
        Assert.True(exit == 0, stderr);
        AssertSame(before, Snapshot(), "rollback --force --dry-run");

        // Simulations write only a store of their own: pointed at the live one they refuse before writing (exit 2).
        string[][] simulations =
        [
            ["replay", "--telemetry", Fixture("autosave_phaseA_clean.jsonl"), "--phase", "A", "--dry-run", "--store", _storeRoot],
            ["replay", "--telemetry", Fixture("autosave_phaseA_clean.jsonl"), "--phase", "A", "--dry-run", "--store", _storeRoot, "--resume"],
            ["analyze", "--batch", Fixture("autosave_phaseA_clean.jsonl"), "--phase", "A", "--dry-run", "--store", _storeRoot],
            ["run", "--telemetry", Fixture("autosave_phaseA_clean.jsonl"), "--dry-run", "--store", _storeRoot, "--schedule", "*/2 * * * * *"],
        ];
        foreach (var args in simulations)
        {
            var what = string.Join(' ', args.Take(2)) + (args.Contains("--resume") ? " --resume" : "");
            (int Exit, string Out, string Err) result;
            try { result = await HostProcess.RunAsync(_cwd, args, env: null, TimeSpan.FromSeconds(30)); }
            catch (TimeoutException ex) { throw new Xunit.Sdk.XunitException($"{what} --dry-run on the live store ran on: {ex.Message[..Math.Min(400, ex.Message.Length)]}"); }
            AssertSame(before, Snapshot(), what + " --dry-run");
            Assert.True(result.Exit == 2, $"{what}: exit {result.Exit}\n{result.Out}{result.Err}");
            Assert.Contains("live store", result.Err);
        }

        // Their own stores still work, and are theirs to clear on the next run.
        var own = Path.Combine(_cwd, "scratch");
        for (var i = 0; i < 2; i++)
        {
            (exit, _, stderr) = await HostProcess.RunAsync(_cwd, "replay", "--telemetry", Fixture("autosave_phaseA_clean.jsonl"), "--phase", "A", "--dry-run",
                "--store", own);
            Assert.True(exit == 0, stderr);
        }
        AssertSame(before, Snapshot(), "replay --dry-run on its own store");
    }

    [Fact]
    public async Task Rollback_refuses_another_flag_or_a_phase_not_in_effect_naming_both_and_writes_nothing()
    {
        await SeedLiveStoreAsync();
        await using var flags = await RecordingServer.StartAsync();
        flags.UseFlagServiceDefaults();
        var env = new Dictionary<string, string> { ["FlagService__BaseUrl"] = flags.BaseUri.ToString(), ["FlagService__Token"] = "flag-t0ken" };
        var before = Snapshot();

        var (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, Rollback("autosave-v2", "A", "off"), env);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal("error: --flag 'autosave-v2' is not the policy's flag 'autosave' (policy.yaml); " +
                     "check the command, or pass --force with --reason to roll back anyway", stderr.TrimEnd('\n'));

        (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, Rollback("autosave", "B", "A"), env);
        Assert.Equal(2, exit);
        Assert.Equal("error: --from B is not the phase in effect A (state/rollout.json); " +
                     "check the command, or pass --force with --reason to roll back anyway", stderr.TrimEnd('\n'));

        Assert.Empty(flags.Requests);
        AssertSame(before, Snapshot(), "a refused rollback");
    }

    [Fact]
    public async Task Rollback_needs_only_the_flag_service_and_force_overrides_the_checks_recording_why()
    {
        await SeedLiveStoreAsync();
        await using var flags = await RecordingServer.StartAsync();
        flags.UseFlagServiceDefaults();
        // No Slack webhook, no PagerDuty key: the emergency command still runs.
        var env = new Dictionary<string, string> { ["FlagService__BaseUrl"] = flags.BaseUri.ToString(), ["FlagService__Token"] = "flag-t0ken" };

        // The flag was moved to B by hand while the state says A: forced, with the reason recorded.
        var (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd,
            ["rollback", "--flag", "autosave", "--from", "B", "--to", "A", "--reason", "flag set to B by hand; rolling back", "--decision", "dec-manual-2",
             "--initiator", "oncall", "--force"], env);
        Assert.True(exit == 0, stderr);
        var call = Assert.Single(flags.Requests);
        Assert.Equal(("/flags/autosave/rollback", "dec-manual-2"), (call.Path, call.Header("Idempotency-Key")));
        Assert.Equal(("B", "A"), ((string?)call.JsonBody()!["from_phase"], (string?)call.JsonBody()!["to_phase"]));

        var runbook = File.ReadAllText(Path.Combine(PipelineFactory.BlobRoot(_storeRoot), StorePaths.Runbook));
        var line = Assert.Single(Lines(runbook));
        Assert.Contains(" dec-manual-2 ", line);
        Assert.EndsWith("[forced: --from B is not the phase in effect A (state/rollout.json)]", line);
        Assert.Contains(line[(line.IndexOf(" dec-manual-2 ", StringComparison.Ordinal) + " dec-manual-2 ".Length)..], stdout);

        var state = JsonNode.Parse(File.ReadAllText(Path.Combine(PipelineFactory.BlobRoot(_storeRoot), StorePaths.RolloutState)))!;
        Assert.Equal("A", (string?)state["phase"]);
        Assert.True((bool)state["rollback_active"]!);
        var forced = state["last_forced_rollback"]!;
        Assert.Equal(("autosave", "B", "A", "A", "flag set to B by hand; rolling back", "oncall", "dec-manual-2"),
            ((string?)forced["flag"], (string?)forced["from"], (string?)forced["to"], (string?)forced["phase_in_effect"], (string?)forced["reason"],
             (string?)forced["initiator"], (string?)forced["decision_id"]));

        // Unforced and matching, with only the flag service configured: A → off.
        (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, Rollback("autosave", "A", "off"), env);
        Assert.True(exit == 0, stderr);
        Assert.Equal(2, flags.Requests.Count);
        state = JsonNode.Parse(File.ReadAllText(Path.Combine(PipelineFactory.BlobRoot(_storeRoot), StorePaths.RolloutState)))!;
        Assert.Equal("off", (string?)state["phase"]);
        Assert.DoesNotContain("flag-t0ken", stdout + stderr + runbook);
    }
}
