using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AutoSaveRollout.Tests.Policy;

namespace AutoSaveRollout.Tests.Support;

/// <summary>
/// The real <c>autosave-rollout</c> host (its own build output, with deps.json and runtimeconfig) as a child process: the one
/// helper every test that starts the CLI uses. Slack, PagerDuty, flag-service, telemetry, metrics and storage settings
/// inherited from the test runner's environment are removed; the caller's <c>env</c> is added.
/// </summary>
internal static class HostProcess
{
    /// <summary>Path of <c>autosave-rollout.dll</c> in <c>functions/AutoSaveRollout.Host/bin/{configuration}/{tfm}</c>.</summary>
    public static readonly string HostDll = Path.Combine(RepoFiles.PathOf("functions/AutoSaveRollout.Host/bin"),
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, new DirectoryInfo(AppContext.BaseDirectory).Name, "autosave-rollout.dll");

    /// <summary>Start information for <c>dotnet autosave-rollout.dll {args}</c> in <paramref name="cwd"/>, output redirected.</summary>
    public static ProcessStartInfo StartInfo(string cwd, IEnumerable<string> args, IReadOnlyDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(HostDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var k in psi.Environment.Keys.Where(k => k.StartsWith("Slack__") || k.StartsWith("PagerDuty__") || k.StartsWith("FlagService__")
                                                          || k.StartsWith("Telemetry__") || k.StartsWith("Metrics__") || k == "AzureWebJobsStorage").ToList())
            psi.Environment.Remove(k);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        return psi;
    }

    /// <summary>Runs the host to completion (at most 60 s) without extra environment; returns its exit code and output.</summary>
    public static Task<(int Exit, string Out, string Err)> RunAsync(string cwd, params string[] args) => RunAsync(cwd, args, env: null);

    /// <summary>Runs the host to completion (at most <paramref name="timeout"/>, default 60 s) and returns its exit code and output.</summary>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(string cwd, IEnumerable<string> args,
        IReadOnlyDictionary<string, string>? env, TimeSpan? timeout = null)
    {
        using var p = Process.Start(StartInfo(cwd, args, env))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            await p.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"autosave-rollout {string.Join(' ', args)} did not finish: {await stdout}{await stderr}");
        }
        return (p.ExitCode, await stdout, await stderr);
    }

    /// <summary>A loopback port that was free a moment ago.</summary>
    public static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
