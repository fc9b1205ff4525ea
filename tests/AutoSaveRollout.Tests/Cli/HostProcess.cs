using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using AutoSaveRollout.Tests.Policy;

namespace AutoSaveRollout.Tests.Cli;

/// <summary>Runs the real <c>autosave-rollout</c> binary (the host's own build output) as a process.</summary>
internal static class HostProcess
{
    // bin/{configuration}/{tfm} of the host, which has its deps.json and runtimeconfig.
    private static readonly string HostDll = Path.Combine(RepoFiles.PathOf("functions/AutoSaveRollout.Host/bin"),
        new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name, new DirectoryInfo(AppContext.BaseDirectory).Name, "autosave-rollout.dll");

    /// <summary>Start info in <paramref name="cwd"/>, without inherited Slack, PagerDuty, flag-service or metrics settings.</summary>
    public static ProcessStartInfo StartInfo(string cwd, IEnumerable<string> args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = cwd, RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(HostDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var k in psi.Environment.Keys.Where(k => k.StartsWith("Slack__") || k.StartsWith("PagerDuty__") || k.StartsWith("FlagService__") || k.StartsWith("Metrics__")).ToList())
            psi.Environment.Remove(k);
        return psi;
    }

    /// <summary>Runs to completion (60 s at most); returns the exit code, stdout and stderr.</summary>
    public static async Task<(int Exit, string Out, string Err)> RunAsync(string cwd, params string[] args)
    {
        using var p = Process.Start(StartInfo(cwd, args))!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
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
