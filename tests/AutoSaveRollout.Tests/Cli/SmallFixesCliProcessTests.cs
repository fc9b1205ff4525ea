using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using AutoSaveRollout.Core.State;
using AutoSaveRollout.Core.Storage;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Cli;

/// <summary>
/// Issue 10, the smaller points of item 7 on the real binary: a tab-indented policy is reported at its line, piped output
/// is neither padded nor wrapped, and <c>notifications.jsonl</c> keeps emoji as UTF-8.
/// </summary>
public sealed class SmallFixesCliProcessTests : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-small-cli-").FullName;

    public SmallFixesCliProcessTests() => File.Copy(RepoFiles.PointPolicy, Path.Combine(_cwd, "policy.yaml"));

    public void Dispose()
    {
        try { Directory.Delete(_cwd, true); } catch (IOException) { }
    }

    private static string Fixture(string name) => RepoFiles.PathOf("fixtures/telemetry/" + name);

    [Fact]
    public async Task A_tab_indented_policy_is_reported_at_the_tab_not_at_1_1()
    {
        var lines = File.ReadAllLines(RepoFiles.PathOf("policy.yaml")).ToList();
        var index = lines.FindIndex(l => l.StartsWith("  warn_ratio:", StringComparison.Ordinal));
        Assert.True(index > 0);
        lines[index] = "\t" + lines[index][2..];
        File.WriteAllLines(Path.Combine(_cwd, "tabbed.yaml"), lines);

        var (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "analyze", "--batch", Fixture("autosave_phaseA_clean.jsonl"), "--phase", "A",
            "--policy", "tabbed.yaml");
        Assert.Equal((2, ""), (exit, stdout));
        Assert.Equal($"error: tabbed.yaml:{index + 1}:1: (document): invalid YAML: tab in the indentation (YAML indents with spaces)", stderr.TrimEnd('\n'));
    }

    [Fact]
    public async Task Piped_tables_are_not_padded_and_never_break_an_id()
    {
        var (exit, replayOut, stderr) = await HostProcess.RunAsync(_cwd, "replay", "--telemetry", Fixture("autosave_phaseA_violation.jsonl"), "--phase", "A",
            "--dry-run");
        Assert.True(exit == 0, stderr);
        string statusOut;
        (exit, statusOut, stderr) = await HostProcess.RunAsync(_cwd, "status", "--store", ".rollout/replay");
        Assert.True(exit == 0, stderr);

        foreach (var (what, output) in new[] { ("replay", replayOut), ("status", statusOut) })
        {
            var lines = output.ReplaceLineEndings("\n").Split('\n');
            Assert.True(lines.All(l => !l.EndsWith(' ')), $"{what}: padded lines:\n" + string.Join("\n", lines.Where(l => l.EndsWith(' ')).Select(l => $"[{l.Length}] {l.TrimEnd()}")));
            Assert.DoesNotContain('\u001b', output); // no ANSI codes in a pipe
        }
        // Every decision id of the status table is whole on its row, next to its window.
        var rows = statusOut.ReplaceLineEndings("\n").Split('\n').Where(l => Regex.IsMatch(l, @"^\s+2026-11-20 \d\d:\d\d\s")).ToList();
        Assert.Equal(8, rows.Count);
        Assert.All(rows, r => Assert.Matches(@"\sdec-20261120T\d{4}Z-(A|off)-[0-9a-f]{12}$", r));
    }

    [Fact]
    public async Task Notifications_jsonl_stores_emoji_as_UTF_8_and_parses_to_the_same_text()
    {
        var store = Path.Combine(_cwd, "store");
        var (exit, _, stderr) = await HostProcess.RunAsync(_cwd, "replay", "--telemetry", Fixture("autosave_phaseA_violation.jsonl"), "--phase", "A",
            "--dry-run", "--store", store);
        Assert.True(exit == 0, stderr);

        var bytes = File.ReadAllBytes(Path.Combine(PipelineFactory.BlobRoot(store), StorePaths.Notifications));
        var text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        Assert.DoesNotContain("\\uD83D", text, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("🚨 AutoSave A violation", text);
        var texts = text.TrimEnd('\n').Split('\n').Select(l => (string?)JsonNode.Parse(l)!["text"]).ToList();
        Assert.Contains(texts, t => t!.StartsWith("🚨 AutoSave A violation", StringComparison.Ordinal));

        // Only that log: the outbox (and every other record) keeps its bytes, emoji escaped as before.
        var window = AutoSaveRollout.Core.Windows.TimeWindow.StartingAt(new DateTimeOffset(2026, 11, 20, 9, 0, 0, TimeSpan.Zero));
        var outbox = File.ReadAllText(Path.Combine(PipelineFactory.BlobRoot(store), StorePaths.Outbox(window)));
        Assert.Contains("\\uD83D\\uDEA8 AutoSave A violation", outbox, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("{\"text\":\"🚨 x\"}", "{\"text\":\"🚨 x\"}")]
    [InlineData("{\"text\":\"\\\\uD83D\\\\uDEA8\"}", "{\"text\":\"\\\\uD83D\\\\uDEA8\"}")] // an escaped backslash followed by text: unchanged
    [InlineData("{\"text\":\"\\\\\\uD83D\\uDEA8\"}", "{\"text\":\"\\\\🚨\"}")]           // an escaped backslash, then an escaped emoji
    [InlineData("{\"text\":\"\\uD83D\\uDE80 \\u00e9\"}", "{\"text\":\"🚀 \\u00e9\"}")]      // BMP escapes are left alone
    public void Only_escaped_surrogate_pairs_are_unescaped(string json, string expected)
    {
        Assert.Equal(expected, Json.UnescapeSupplementary(json));
        Assert.Equal((string?)JsonNode.Parse(json)!["text"], (string?)JsonNode.Parse(Json.UnescapeSupplementary(json))!["text"]);
    }
}

/// <summary><c>status --storage azure</c> (issue 10: the lifecycle section says every command takes it) on Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class StatusAzuriteCliProcessTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-status-azure-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_cwd, true); } catch (IOException) { }
    }

    [Fact]
    public async Task Status_reads_the_state_from_Azure_Storage()
    {
        File.Copy(RepoFiles.PointPolicy, Path.Combine(_cwd, "policy.yaml"));
        var ports = PipelineFactory.CreateStoragePorts(PipelineFactory.LoadConfiguration(_cwd), StorageSelection.Azure(azurite.ConnectionString), TimeProvider.System);
        await ReplayStore.ResetAsync(ports);
        try
        {
            var since = new DateTimeOffset(2026, 11, 20, 9, 15, 0, TimeSpan.Zero);
            await new JsonRecordStore<RolloutState>(ports.Blobs, StorePaths.RolloutState).UpdateAsync(_ => RolloutState.Start("B", since));

            var (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "status", "--storage", "azure", "--connection", azurite.ConnectionString);
            Assert.True(exit == 0, stderr);
            Assert.Contains("phase: B\n", stdout.ReplaceLineEndings("\n"));
            Assert.Contains("phase since: 2026-11-20 09:15 UTC", stdout);
            Assert.DoesNotContain(AzuriteFixture.DevelopmentAccountKey, stdout + stderr);

            (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "status", "--storage", "azure");
            Assert.Equal(2, exit);
            Assert.StartsWith("error: --storage azure needs --connection", stderr);
        }
        finally
        {
            await ReplayStore.ResetAsync(ports);
        }
    }
}
