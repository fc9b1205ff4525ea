using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using AutoSaveRollout.Azure;

namespace AutoSaveRollout.Tests.Support;

/// <summary>
/// Runs one Azurite (pinned in the repo-root package.json; install with <c>npm ci</c> at the repo root) for every test class
/// in the <see cref="AzuriteCollection"/>: 127.0.0.1 on three free ports (blob, queue, table), a fresh temporary
/// <c>--location</c>, <c>--silent --disableTelemetry</c>. The API-version check stays on so an unsupported pinned
/// <c>x-ms-version</c> fails loudly. Never skips: a missing or failing Azurite fails the tests with instructions.
/// Disposing kills the process tree and deletes the folder. <see cref="StopAsync"/> and <see cref="RestartAsync"/> take
/// the storage away and bring it back (same ports and data) for outage tests.
/// </summary>
public sealed class AzuriteFixture : IAsyncLifetime
{
    private const string InstallHint = "run `npm ci` at the repo root (it installs the pinned azurite and @azure/storage-* packages)";
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private Process? _process;
    private readonly StringBuilder _output = new();

    /// <summary>Repository root (the folder holding AutoSaveRollout.sln).</summary>
    public string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Azurite's data folder for this run.</summary>
    public string Location { get; } = Path.Combine(Path.GetTempPath(), "autosave-azurite-" + Guid.NewGuid().ToString("N"));

    /// <summary>Blob service port.</summary>
    public int BlobPort { get; private set; }

    /// <summary>Queue service port.</summary>
    public int QueuePort { get; private set; }

    /// <summary>Table service port (unused by the adapters, but Azurite always starts it).</summary>
    public int TablePort { get; private set; }

    /// <summary>Full Shared Key connection string for the well-known account on this Azurite (path-style endpoints).</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={StorageConnectionString.DevelopmentAccountName};" +
        $"AccountKey={StorageConnectionString.DevelopmentAccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{StorageConnectionString.DevelopmentAccountName};" +
        $"QueueEndpoint=http://127.0.0.1:{QueuePort}/{StorageConnectionString.DevelopmentAccountName};" +
        $"TableEndpoint=http://127.0.0.1:{TablePort}/{StorageConnectionString.DevelopmentAccountName};";

    /// <summary>The parsed <see cref="ConnectionString"/>.</summary>
    public StorageConnectionString Connection => StorageConnectionString.Parse(ConnectionString);

    /// <summary>A fresh HttpClient with a 30 s timeout (tests dispose it).</summary>
    public HttpClient CreateHttpClient() => new() { Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>A unique lowercase name usable as container or queue name (3–63 characters).</summary>
    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(63, prefix.Length + 33)];

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var bin = Path.Combine(RepoRoot, "node_modules", ".bin", OperatingSystem.IsWindows() ? "azurite.cmd" : "azurite");
        if (!File.Exists(bin))
            throw new InvalidOperationException($"Azurite is not installed ({bin} is missing): {InstallHint}.");

        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            // Free ports are picked by binding port 0; another process could grab one before Azurite binds it, so retry.
            (BlobPort, QueuePort, TablePort) = (FreePort(), FreePort(), FreePort());
            try
            {
                await StartAsync(bin).ConfigureAwait(false);
                return;
            }
            catch (InvalidOperationException ex)
            {
                last = ex;
                KillProcess();
            }
        }
        throw new InvalidOperationException($"Azurite did not start; {InstallHint}. Last error: {last?.Message}", last);
    }

    /// <summary>
    /// Stops Azurite the way an operator would (SIGTERM: it closes its servers and saves its metadata to
    /// <see cref="Location"/>) and waits until it has exited, so the storage is unreachable until
    /// <see cref="RestartAsync"/>. Throws <see cref="InvalidOperationException"/> when it does not exit within 30 s.
    /// </summary>
    public async Task StopAsync()
    {
        var process = _process ?? throw new InvalidOperationException("Azurite is not running");
        using (var term = Process.Start("kill", ["-TERM", process.Id.ToString()])) await term!.WaitForExitAsync().ConfigureAwait(false);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new InvalidOperationException($"Azurite did not exit within 30 s of SIGTERM: {Output()}");
        }
        _process = null;
        process.Dispose();
    }

    /// <summary>Starts Azurite again after <see cref="StopAsync"/> on the same ports and the same <see cref="Location"/> (data kept).</summary>
    public Task RestartAsync()
    {
        if (_process is not null) throw new InvalidOperationException("Azurite is still running");
        return StartAsync(Path.Combine(RepoRoot, "node_modules", ".bin", OperatingSystem.IsWindows() ? "azurite.cmd" : "azurite"));
    }

    /// <inheritdoc />
    public Task DisposeAsync()
    {
        KillProcess();
        try
        {
            if (Directory.Exists(Location)) Directory.Delete(Location, recursive: true);
        }
        catch (IOException)
        {
            // A file may still be closing on some platforms; the OS temp cleaner takes it.
        }
        return Task.CompletedTask;
    }

    private async Task StartAsync(string bin)
    {
        Directory.CreateDirectory(Location);
        var psi = new ProcessStartInfo(bin)
        {
            WorkingDirectory = RepoRoot,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
                 {
                     "--silent", "--disableTelemetry", "--location", Location,
                     "--blobHost", "127.0.0.1", "--blobPort", BlobPort.ToString(),
                     "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(),
                     "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(),
                 })
        {
            psi.ArgumentList.Add(arg);
        }

        _output.Clear();
        var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_output) _output.AppendLine(e.Data); };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"Could not run {bin} (is node on PATH?): {ex.Message}", ex);
        }
        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var deadline = DateTime.UtcNow + StartTimeout;
        var pending = new List<int> { BlobPort, QueuePort, TablePort };
        while (pending.Count > 0)
        {
            if (process.HasExited)
                throw new InvalidOperationException($"Azurite exited with code {process.ExitCode}: {Output()}");
            if (DateTime.UtcNow > deadline)
                throw new InvalidOperationException($"Azurite did not accept connections on ports {string.Join(", ", pending)} within {StartTimeout.TotalSeconds:0} s: {Output()}");
            pending.RemoveAll(CanConnect);
            if (pending.Count > 0) await Task.Delay(200).ConfigureAwait(false);
        }
    }

    private string Output()
    {
        lock (_output) return _output.Length == 0 ? "(no output)" : _output.ToString().Trim();
    }

    private void KillProcess()
    {
        var process = _process;
        _process = null;
        if (process is null) return;
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            process.Dispose();
        }
    }

    private static bool CanConnect(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>Walks up from the test assembly folder to the folder containing AutoSaveRollout.sln.</summary>
    public static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AutoSaveRollout.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException($"AutoSaveRollout.sln not found above {AppContext.BaseDirectory}.");
    }
}

/// <summary>One Azurite shared by every Azure test class (xunit collection fixture).</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    /// <summary>Collection name for <c>[Collection(AzuriteCollection.Name)]</c>.</summary>
    public const string Name = "Azurite";
}
