using System.Diagnostics;
using System.Text.RegularExpressions;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Cli;

/// <summary>
/// <c>replay</c>'s progress on standard error, through the real CLI process: one line per 10 % when redirected, a
/// Spectre.Console progress bar on a terminal (a pseudo-terminal from util-linux <c>script</c>).
/// </summary>
public sealed class ReplayProgressCliTests : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-progress-").FullName;

    public ReplayProgressCliTests() => File.Copy(RepoFiles.PointPolicy, Path.Combine(_cwd, "policy.yaml"));

    public void Dispose()
    {
        try { Directory.Delete(_cwd, true); } catch (IOException) { }
    }

    // 5 hours of seeded synthetic telemetry: 20 windows.
    private async Task<string> TwentyWindowsAsync()
    {
        var (exit, _, stderr) = await HostProcess.RunAsync(_cwd, "generate", "--out", "t.jsonl", "--hours", "5", "--rate", "0.05");
        Assert.True(exit == 0, stderr);
        return Path.Combine(_cwd, "t.jsonl");
    }

    [Fact]
    public async Task Redirected_output_gets_one_progress_line_per_10_percent_on_stderr_and_stdout_keeps_the_result()
    {
        var telemetry = await TwentyWindowsAsync();

        var (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "replay", "--telemetry", telemetry, "--phase", "A", "--dry-run");

        Assert.True(exit == 0, stderr);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.Equal(10, lines.Length);
        for (var i = 0; i < 10; i++)
            Assert.Matches(new Regex($@"^replay: {(i + 1) * 10}% \({(i + 1) * 2}/20 windows\), elapsed \d+:\d\d, ETA \d+:\d\d$"), lines[i]);
        Assert.EndsWith("ETA 0:00", lines[^1]);
        Assert.DoesNotContain("\u001b[", stderr);
        Assert.DoesNotContain("replay: ", stdout);
        Assert.Contains("20 windows: ", stdout);
    }

    [Fact]
    public async Task A_short_replay_prints_a_line_for_each_tenth_it_reaches()
    {
        var (exit, _, stderr) = await HostProcess.RunAsync(_cwd, "replay", "--telemetry", RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl"),
            "--phase", "A", "--dry-run");

        Assert.True(exit == 0, stderr);
        // 8 windows: 12 %, 25 %, 37 %, 50 %, 62 %, 75 %, 87 %, 100 %.
        Assert.Equal(["12% (1/8", "25% (2/8", "37% (3/8", "50% (4/8", "62% (5/8", "75% (6/8", "87% (7/8", "100% (8/8"],
            stderr.TrimEnd('\n').Split('\n').Select(l => Regex.Match(l, @"^replay: (\d+% \(\d+/\d+)").Groups[1].Value));
    }

    [Fact]
    public async Task On_a_terminal_a_progress_bar_counts_windows_to_20_of_20_and_100_percent()
    {
        var telemetry = await TwentyWindowsAsync();
        var psi = HostProcess.StartInfo(_cwd, []);
        var command = string.Join(' ', new[] { "dotnet", HostProcess.HostDll, "replay", "--telemetry", telemetry, "--phase", "A", "--dry-run" }
            .Select(a => "'" + a.Replace("'", "'\\''") + "'")) + " >/dev/null";
        var script = new ProcessStartInfo("script", ["-qec", command, "/dev/null"])
        {
            WorkingDirectory = _cwd, RedirectStandardOutput = true, RedirectStandardError = true,
        };
        foreach (var (k, v) in psi.Environment) script.Environment[k] = v;
        script.Environment["TERM"] = "xterm-256color";
        script.Environment["COLUMNS"] = "100";

        using var p = Process.Start(script)!;
        var output = p.StandardOutput.ReadToEndAsync();
        var error = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);

        var terminal = await output;
        Assert.True(p.ExitCode == 0, terminal + await error);
        var plain = Regex.Replace(terminal, @"\u001b\[[0-9;?]*[A-Za-z]", "");
        Assert.Contains("\u001b[", terminal); // drawn with escape sequences, redrawn in place
        Assert.Contains("replay: 20/20 windows", plain);
        Assert.Contains("100%", plain);
        Assert.Matches(@"replay: \d+/20 windows\s+━+\s+\d+%\s+\d\d:\d\d:\d\d", plain); // bar, percentage, remaining time
        Assert.DoesNotContain("replay: 10% (", plain); // not the redirected form
    }
}
