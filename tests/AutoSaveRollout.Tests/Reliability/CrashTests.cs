using System.Diagnostics;
using System.Globalization;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Xunit.Abstractions;

namespace AutoSaveRollout.Tests.Reliability;

/// <summary>
/// The real host binary doing <c>replay --resume</c>, killed with SIGKILL again and again (at most 15 times, until a run
/// gets to the end by itself), then run once more uninterrupted: the
/// result must equal an uninterrupted run's (decisions, batches, runbook, state) and the peers must have seen every
/// message, one incident per dedup key and one rollback per decision. Kill points are seeded: after a random delay, or
/// while the n-th new outward request is in flight (before the peer answers, or right after it answered). Set
/// <c>CRASH_TEST_SEED</c> to repeat a schedule; the seed is printed with every failure.
/// </summary>
public sealed class CrashTests(ITestOutputHelper output) : IDisposable
{
    private const int Kills = 15;
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-crash-").FullName;
    private readonly object _gate = new();
    private Process? _current;
    private (int Target, bool AfterResponse, int Seen, string? Key)? _armed;
    private string? _killedAt;

    public void Dispose()
    {
        try { Directory.Delete(_cwd, recursive: true); } catch (IOException) { }
    }

    [Fact]
    public async Task Replay_killed_at_random_points_and_resumed_ends_as_an_uninterrupted_run_would()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("CRASH_TEST_SEED"), out var s) ? s : Environment.TickCount & 0x7FFFFFFF;
        output.WriteLine($"seed {seed} (set CRASH_TEST_SEED={seed} to repeat this schedule)");
        var rng = new Random(seed);
        File.Copy(RepoFiles.PointPolicy, Path.Combine(_cwd, "policy.yaml"));
        var input = Path.Combine(_cwd, "input.jsonl");
        // 20 windows from phase C: violations at 09:00 (C→B), 10:30 (B→A) and 12:00 (A→off), ok posts in C and B.
        var expectedLines = CrashInput.Write(input, TimeSpan.FromHours(5), seed: 7, 60, 150, 240);
        string[] Args(string store) => ["replay", "--telemetry", input, "--phase", "C", "--store", store, "--resume"];

        var responseDelay = TimeSpan.FromMilliseconds(25); // peers answer slowly enough for kills to land mid-request
        CrashReference reference;
        TimeSpan uninterrupted;
        await using (var referencePeers = await FakePeers.StartAsync())
        {
            referencePeers.ResponseDelay = responseDelay;
            var referenceStore = Path.Combine(_cwd, "reference");
            var watch = Stopwatch.StartNew();
            var (exit, _, err) = await HostProcess.RunAsync(_cwd, Args(referenceStore), referencePeers.Environment());
            uninterrupted = watch.Elapsed;
            Assert.True(exit == 0, err);
            reference = CrashReference.Capture(referenceStore, referencePeers);
        }

        await using var peers = await FakePeers.StartAsync();
        peers.Interceptor = Intercept;
        peers.ResponseDelay = responseDelay;
        var store = Path.Combine(_cwd, "crash");
        var schedule = new List<string>();
        var kills = 0;
        var finished = false;
        for (var i = 0; kills < Kills && !finished; i++)
        {
            // 0: after a delay; 1: before the n-th new outward request is answered; 2: right after it was answered.
            // The first three runs always die at a request, so every schedule covers those points.
            var mode = i < 3 ? 1 + rng.Next(2) : rng.Next(3);
            var delay = TimeSpan.FromMilliseconds(rng.Next(150, (int)Math.Max(400, uninterrupted.TotalMilliseconds * 0.3)));
            var target = rng.Next(1, 4);
            using var p = Process.Start(HostProcess.StartInfo(_cwd, Args(store), peers.Environment()))!;
            p.OutputDataReceived += (_, _) => { };
            p.ErrorDataReceived += (_, _) => { };
            p.BeginOutputReadLine();
            p.BeginErrorReadLine();
            lock (_gate)
            {
                _current = p;
                _killedAt = null;
                _armed = mode == 0 ? null : (target, mode == 2, 0, null);
            }

            if (mode == 0)
            {
                using var timer = new CancellationTokenSource(delay);
                try { await p.WaitForExitAsync(timer.Token); }
                catch (OperationCanceledException) { Kill(p, $"after {delay.TotalMilliseconds:0} ms"); }
            }
            using (var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60))) await p.WaitForExitAsync(limit.Token);
            string what;
            lock (_gate)
            {
                _armed = null;
                _current = null;
                var plan = mode == 0 ? $"kill after {delay.TotalMilliseconds:0} ms" : $"kill {(mode == 2 ? "after" : "before")} answer #{target}";
                what = _killedAt is { } at ? "killed " + at : $"exited {p.ExitCode} before the planned {plan}";
                if (_killedAt is not null) kills++;
                else finished = true; // the replay got to its end: nothing is left to interrupt
            }
            schedule.Add($"run {i + 1}: {what}");
        }

        var (finalExit, finalOut, finalErr) = await HostProcess.RunAsync(_cwd, Args(store), peers.Environment());
        schedule.Add($"final run: exit {finalExit}");
        output.WriteLine($"uninterrupted run: {uninterrupted.TotalSeconds:0.00} s; {kills} kills");
        output.WriteLine(string.Join("\n", schedule));
        var problems = reference.Differences(store, peers, kills, expectedLines);
        if (finalExit != 0) problems.Insert(0, $"final run exited {finalExit}: {finalErr}");
        Assert.True(problems.Count == 0,
            $"seed {seed}: not healed after {kills} kills:\n  {string.Join("\n  ", problems)}\nschedule:\n  {string.Join("\n  ", schedule)}\nfinal output:\n{finalOut}");
        Assert.True(kills >= 3, $"seed {seed}: only {kills} runs were killed before the replay finished:\n  {string.Join("\n  ", schedule)}");
    }

    // Kills the host while the n-th new outward request of this run is in flight: before the peer answers (it has
    // received the request) or right after it answered (the host may not have recorded the outcome yet).
    private bool Intercept(PeerCall call, bool responded)
    {
        lock (_gate)
        {
            if (_armed is not { } armed || _current is null || call.Repeat) return false;
            if (!responded)
            {
                if (armed.Key is not null) return false;
                var seen = armed.Seen + 1;
                if (seen < armed.Target)
                {
                    _armed = armed with { Seen = seen };
                    return false;
                }
                if (!armed.AfterResponse)
                {
                    Kill(_current, $"before the {call.Kind} answer to {Short(call.Key)}");
                    _armed = null;
                    return true;
                }
                _armed = armed with { Seen = seen, Key = call.Key };
                return false;
            }
            if (armed.Key != call.Key) return false;
            Kill(_current, $"after the {call.Kind} answer to {Short(call.Key)}");
            _armed = null;
            return false;
        }
    }

    private void Kill(Process p, string when)
    {
        lock (_gate)
        {
            if (p.HasExited) return;
            p.Kill(); // SIGKILL on Linux
            p.WaitForExit(10_000);
            _killedAt = when;
        }
    }

    private static string Short(string key) => key.Length <= 70 ? key : key[..70] + "…";
}
