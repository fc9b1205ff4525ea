using System.Diagnostics;

namespace AutoSaveRollout.Tests.Support;

/// <summary>
/// Runs a Node.js script (the interop scripts under <c>tests/AutoSaveRollout.Tests/Azure/Interop</c>) from the repo root so
/// that it resolves the pinned <c>@azure/storage-*</c> packages in <c>node_modules</c>.
/// </summary>
public static class NodeScript
{
    /// <summary>
    /// Runs <c>node {script} {args}</c> with extra environment variables and returns stdout (trimmed). Throws
    /// <see cref="InvalidOperationException"/> with stderr when node is missing, the exit code is not 0, or it takes over
    /// <paramref name="timeoutSeconds"/>.
    /// </summary>
    public static async Task<string> RunAsync(
        string repoRoot, string script, IReadOnlyDictionary<string, string> environment, IEnumerable<string>? args = null, int timeoutSeconds = 60)
    {
        var scriptPath = Path.Combine(repoRoot, "tests", "AutoSaveRollout.Tests", "Azure", "Interop", script);
        if (!File.Exists(scriptPath)) throw new InvalidOperationException($"Interop script {scriptPath} is missing.");
        if (!Directory.Exists(Path.Combine(repoRoot, "node_modules", "@azure", "storage-blob")))
            throw new InvalidOperationException("node_modules/@azure/storage-blob is missing: run `npm ci` at the repo root.");

        var psi = new ProcessStartInfo("node")
        {
            WorkingDirectory = repoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(scriptPath);
        foreach (var arg in args ?? []) psi.ArgumentList.Add(arg);
        foreach (var (key, value) in environment) psi.Environment[key] = value;

        using var process = new Process { StartInfo = psi };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not run node (is Node.js on PATH?): {ex.Message}", ex);
        }
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"node {script} timed out after {timeoutSeconds} s. stderr: {await stderr}");
        }
        if (process.ExitCode != 0)
            throw new InvalidOperationException($"node {script} exited with {process.ExitCode}. stderr: {await stderr} stdout: {await stdout}");
        return (await stdout).Trim();
    }
}
