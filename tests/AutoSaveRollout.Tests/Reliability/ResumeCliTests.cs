using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary><c>replay --resume</c> from the command line.</summary>
public sealed class ResumeCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("autosave-resume-").FullName;

    public ResumeCliTests() => File.Copy(RepoFiles.PointPolicy, Path.Combine(_dir, "policy.yaml"));

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private static readonly string Fixture = RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl");

    [Fact]
    public async Task Resuming_a_finished_replay_sends_nothing_again_and_keeps_every_record()
    {
        await using var peers = await FakePeers.StartAsync();
        string[] args = ["replay", "--telemetry", Fixture, "--phase", "A", "--store", "store", "--resume"];
        var first = await HostProcess.RunAsync(_dir, args, peers.Environment());
        Assert.True(first.Exit == 0, first.Err);
        var decisions = Path.Combine(_dir, "store", "blobs", "decisions");
        var before = Directory.EnumerateFiles(decisions, "*", SearchOption.AllDirectories).Order().Select(File.ReadAllText).ToList();
        var posts = peers.Slack.Requests.Count + peers.PagerDuty.Requests.Count + peers.Flags.Requests.Count;
        Assert.Equal(3, posts); // incident, page, rollback

        var second = await HostProcess.RunAsync(_dir, args, peers.Environment());

        Assert.True(second.Exit == 0, second.Err);
        Assert.Equal(posts, peers.Slack.Requests.Count + peers.PagerDuty.Requests.Count + peers.Flags.Requests.Count);
        Assert.Equal(before, Directory.EnumerateFiles(decisions, "*", SearchOption.AllDirectories).Order().Select(File.ReadAllText).ToList());
        Assert.Single(File.ReadAllLines(Path.Combine(_dir, "store", "blobs", "reports", "monitoring", "runbook.log")));
        Assert.Contains("8 windows: 4 ok, 1 violation, 3 off", second.Out);
    }

    [Fact]
    public async Task Resume_and_reset_together_stop_with_exit_2()
    {
        var (exit, stdout, stderr) = await HostProcess.RunAsync(_dir, ["replay", "--telemetry", Fixture, "--phase", "A", "--dry-run", "--resume", "--reset"]);
        Assert.Equal(2, exit);
        Assert.Equal("", stdout);
        Assert.Equal("error: --resume keeps the store and --reset empties it; pass one of them", stderr.TrimEnd('\n'));
    }
}
