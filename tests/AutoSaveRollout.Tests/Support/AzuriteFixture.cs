using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Queues;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using Microsoft.Extensions.Configuration;

namespace AutoSaveRollout.Tests.Support;

/// <summary>
/// Runs one Azurite (pinned in the repo-root package.json; install with <c>npm ci</c> at the repo root) for every test class
/// in the <see cref="AzuriteCollection"/>: 127.0.0.1 on three free ports (blob, queue, table), a fresh temporary
/// <c>--location</c>, <c>--silent --disableTelemetry</c>. The API-version check stays on so an unsupported pinned
/// <c>x-ms-version</c> fails loudly. Never skips: a missing or failing Azurite fails the tests with instructions.
/// Disposing kills the process tree and deletes the folder. <see cref="StopAsync"/> and <see cref="RestartAsync"/> take
/// the storage away and bring it back (same ports and data) for outage tests.
/// <see cref="AzuriteOAuthFixture"/> runs the same Azurite over https with <c>--oauth basic</c> for the identity path.
/// </summary>
public class AzuriteFixture : IAsyncLifetime
{
    /// <summary>Azurite's well-known development account (public, documented emulator credentials).</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    /// <summary>Azurite's well-known development account key (public, documented emulator credentials).</summary>
    public const string DevelopmentAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    /// <summary>Connection setting name the tests put their connection under.</summary>
    public const string ConnectionName = "Storage";

    /// <summary>Plain http with Shared Key (the default), or https with <c>--oauth basic</c> and a self-signed certificate.</summary>
    protected AzuriteFixture(bool oauth) => OAuth = oauth;

    /// <summary>Creates the plain-http fixture.</summary>
    public AzuriteFixture() : this(false) { }

    /// <summary>True when this Azurite runs over https with <c>--oauth basic</c>.</summary>
    public bool OAuth { get; }

    /// <summary>The self-signed certificate Azurite serves over https (<see cref="OAuth"/> only).</summary>
    public X509Certificate2? Certificate { get; private set; }

    private string Scheme => OAuth ? "https" : "http";

    /// <summary>Blob service endpoint (path-style, account in the path).</summary>
    public Uri BlobEndpoint => new($"{Scheme}://127.0.0.1:{BlobPort}/{DevelopmentAccountName}");

    /// <summary>Queue service endpoint (path-style, account in the path).</summary>
    public Uri QueueEndpoint => new($"{Scheme}://127.0.0.1:{QueuePort}/{DevelopmentAccountName}");

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
        $"DefaultEndpointsProtocol={Scheme};AccountName={DevelopmentAccountName};AccountKey={DevelopmentAccountKey};" +
        $"BlobEndpoint={BlobEndpoint};QueueEndpoint={QueueEndpoint};" +
        $"TableEndpoint={Scheme}://127.0.0.1:{TablePort}/{DevelopmentAccountName};";

    /// <summary>
    /// Configuration holding this Azurite's connection under <see cref="ConnectionName"/>: the connection string, or (for
    /// <see cref="OAuth"/>) the identity settings <c>__blobServiceUri</c>, <c>__queueServiceUri</c>, <c>__credential</c>.
    /// </summary>
    public IConfiguration Configuration(string? connectionString = null)
    {
        var values = new Dictionary<string, string?>();
        if (OAuth && connectionString is null)
        {
            values[$"{ConnectionName}:blobServiceUri"] = BlobEndpoint.AbsoluteUri;
            values[$"{ConnectionName}:queueServiceUri"] = QueueEndpoint.AbsoluteUri;
            values[$"{ConnectionName}:credential"] = "managedidentity";
        }
        else
        {
            values[ConnectionName] = connectionString ?? ConnectionString;
        }
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    /// <summary>
    /// Client settings for this Azurite: defaults, plus (for <see cref="OAuth"/>) a transport trusting <see cref="Certificate"/>
    /// and an <see cref="EmulatorTokenCredential"/>.
    /// </summary>
    public AzureStorageOptions Options(QueueMessageEncoding encoding = QueueMessageEncoding.Base64)
    {
        var options = new AzureStorageOptions { MessageEncoding = encoding };
        if (OAuth)
        {
            options.Transport = TrustingTransport();
            options.Credential = new EmulatorTokenCredential();
        }
        return options;
    }

    /// <summary>An SDK transport whose TLS check accepts exactly <see cref="Certificate"/> (default transport when not <see cref="OAuth"/>).</summary>
    public HttpPipelineTransport? TrustingTransport()
    {
        if (Certificate is null) return null;
        var thumbprint = Certificate.GetCertHashString(HashAlgorithmName.SHA256);
        var handler = new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, cert, _, _) => cert?.GetCertHashString(HashAlgorithmName.SHA256) == thumbprint,
        };
        return new HttpClientTransport(handler);
    }

    /// <summary>The storage ports on this Azurite through <see cref="AzureStorageRegistration"/> (connection string or identity).</summary>
    public AzureStoragePorts CreatePorts(AzureStorageOptions? options = null, string? connectionString = null) =>
        AzureStorageRegistration.Create(Configuration(connectionString), ConnectionName, options ?? Options());

    /// <summary>The blob store on this Azurite.</summary>
    public AzureBlobStore BlobStore() => CreatePorts().Blobs;

    /// <summary>The queue factory on this Azurite with <paramref name="encoding"/>.</summary>
    public AzureQueueFactory Queues(QueueMessageEncoding encoding = QueueMessageEncoding.Base64) => CreatePorts(Options(encoding)).Queues;

    /// <summary>The lease lock on this Azurite with lock blobs in <paramref name="container"/>.</summary>
    public AzureBlobLeaseLock Lock(string container = "locks")
    {
        var options = Options();
        options.LockContainer = container;
        return CreatePorts(options).Locks;
    }

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
        if (OAuth)
        {
            // Azurite reads a PEM certificate and key (--cert/--key); bearer tokens are only accepted over https.
            var (certPath, keyPath) = WriteCertificate();
            foreach (var arg in new[] { "--cert", certPath, "--key", keyPath, "--oauth", "basic" }) psi.ArgumentList.Add(arg);
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

    // A fresh self-signed certificate for 127.0.0.1/localhost, written as PEM next to Azurite's data (once per fixture).
    private (string Cert, string Key) WriteCertificate()
    {
        var certPath = Path.Combine(Location, "azurite-cert.pem");
        var keyPath = Path.Combine(Location, "azurite-key.pem");
        if (Certificate is null)
        {
            using var rsa = RSA.Create(2048);
            var request = new CertificateRequest("CN=127.0.0.1", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            var san = new SubjectAlternativeNameBuilder();
            san.AddIpAddress(IPAddress.Loopback);
            san.AddDnsName("localhost");
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
            Certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
            File.WriteAllText(certPath, Certificate.ExportCertificatePem());
            File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        }
        return (certPath, keyPath);
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

/// <summary>Azurite over https with <c>--oauth basic</c>: the identity path (bearer tokens from <see cref="EmulatorTokenCredential"/>).</summary>
public sealed class AzuriteOAuthFixture() : AzuriteFixture(oauth: true);

/// <summary>
/// A test <see cref="TokenCredential"/> issuing the tokens Azurite's <c>--oauth basic</c> accepts. Azurite 3.37.0
/// (<c>BlobTokenAuthenticator</c>/<c>QueueTokenAuthenticator</c>, <c>authenticateBasic</c>) decodes the JWT without checking
/// its signature and requires <c>nbf</c>, <c>exp</c> and <c>iat</c> with now inside [nbf, exp], an <c>iss</c> starting with
/// one of its known STS prefixes (e.g. <c>https://sts.windows.net/</c>), and an <c>aud</c> of <c>https://storage.azure.com</c>
/// (or the account's service host). The token here is HS256-signed with a random key, valid for one hour.
/// </summary>
public sealed class EmulatorTokenCredential(string audience = "https://storage.azure.com", string issuer = "https://sts.windows.net/00000000-0000-0000-0000-000000000001/") : TokenCredential
{
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    /// <summary>Number of tokens issued (the SDK caches a token until it nears expiry).</summary>
    public int Issued;

    /// <inheritdoc />
    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref Issued);
        var now = DateTimeOffset.UtcNow;
        var expires = now.AddHours(1);
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "HS256", typ = "JWT" }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["aud"] = audience,
            ["iss"] = issuer,
            ["iat"] = now.AddMinutes(-1).ToUnixTimeSeconds(),
            ["nbf"] = now.AddMinutes(-1).ToUnixTimeSeconds(),
            ["exp"] = expires.ToUnixTimeSeconds(),
            ["oid"] = "00000000-0000-0000-0000-0000000000aa",
            ["scp"] = string.Join(' ', requestContext.Scopes),
        }));
        var signature = Base64Url(HMACSHA256.HashData(Key, Encoding.ASCII.GetBytes(header + "." + payload)));
        return new AccessToken($"{header}.{payload}.{signature}", expires);
    }

    /// <inheritdoc />
    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>One Azurite over https with <c>--oauth basic</c> shared by the identity-path test classes.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteOAuthCollection : ICollectionFixture<AzuriteOAuthFixture>
{
    /// <summary>Collection name for <c>[Collection(AzuriteOAuthCollection.Name)]</c>.</summary>
    public const string Name = "AzuriteOAuth";
}

/// <summary>One Azurite shared by every Azure test class (xunit collection fixture).</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    /// <summary>Collection name for <c>[Collection(AzuriteCollection.Name)]</c>.</summary>
    public const string Name = "Azurite";
}
