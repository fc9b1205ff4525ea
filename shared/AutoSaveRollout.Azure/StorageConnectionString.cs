using System.Text;

namespace AutoSaveRollout.Azure;

/// <summary>How requests built from a <see cref="StorageConnectionString"/> are authorized.</summary>
public enum StorageCredentialKind
{
    /// <summary>Shared Key: <c>Authorization: SharedKey account:signature</c> (learn "Authorize with Shared Key").</summary>
    SharedKey,

    /// <summary>Shared access signature: the token is appended to every request's query; no Authorization header.</summary>
    SharedAccessSignature,
}

/// <summary>
/// A parsed Azure Storage connection string (learn "Configure a connection string for an Azure storage account").
/// Supported forms:
/// <list type="bullet">
/// <item><c>UseDevelopmentStorage=true</c>: the Azurite well-known account <c>devstoreaccount1</c> with path-style endpoints
/// <c>http://127.0.0.1:10000/devstoreaccount1</c> (blob) and <c>http://127.0.0.1:10001/devstoreaccount1</c> (queue).</item>
/// <item><c>DefaultEndpointsProtocol=https;AccountName=…;AccountKey=…[;EndpointSuffix=core.windows.net][;BlobEndpoint=…][;QueueEndpoint=…]</c>:
/// default endpoints are <c>{protocol}://{account}.blob.{suffix}</c> / <c>.queue.</c>; explicit endpoints (absolute http(s)
/// URIs, e.g. Azurite's path-style <c>http://127.0.0.1:10000/devstoreaccount1</c>) override them.</item>
/// <item><c>BlobEndpoint=…;QueueEndpoint=…;SharedAccessSignature=sv=…&amp;sig=…</c> (at least one endpoint, or an AccountName for
/// default endpoints).</item>
/// </list>
/// Keys are matched case-insensitively; values may contain '=' (only the first '=' separates key and value).
/// <c>TableEndpoint</c>, <c>FileEndpoint</c> and the <c>*SecondaryEndpoint</c> keys are accepted and ignored.
/// The account key and SAS token are never exposed by <see cref="ToString"/> or by parse errors.
/// </summary>
public sealed class StorageConnectionString
{
    /// <summary>Azurite / storage emulator well-known account name (learn "Use Azurite").</summary>
    public const string DevelopmentAccountName = "devstoreaccount1";

    /// <summary>Azurite / storage emulator well-known account key (public, documented by Microsoft; not a secret).</summary>
    public const string DevelopmentAccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly HashSet<string> IgnoredKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "TableEndpoint", "FileEndpoint", "BlobSecondaryEndpoint", "QueueSecondaryEndpoint",
        "TableSecondaryEndpoint", "FileSecondaryEndpoint",
    };

    private static readonly HashSet<string> KnownKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "UseDevelopmentStorage", "DefaultEndpointsProtocol", "AccountName", "AccountKey", "EndpointSuffix",
        "BlobEndpoint", "QueueEndpoint", "SharedAccessSignature",
    };

    private readonly byte[]? _accountKey;

    private StorageConnectionString(
        string? accountName, byte[]? accountKey, string? sasToken, Uri? blobEndpoint, Uri? queueEndpoint, bool isDevelopmentStorage)
    {
        AccountName = accountName;
        _accountKey = accountKey;
        SasToken = sasToken;
        BlobEndpoint = blobEndpoint;
        QueueEndpoint = queueEndpoint;
        IsDevelopmentStorage = isDevelopmentStorage;
    }

    /// <summary>Storage account name; null only for a SAS connection string that names none.</summary>
    public string? AccountName { get; }

    /// <summary>Blob service endpoint without trailing slash (e.g. <c>https://acct.blob.core.windows.net</c>); null when not configured.</summary>
    public Uri? BlobEndpoint { get; }

    /// <summary>Queue service endpoint without trailing slash; null when not configured.</summary>
    public Uri? QueueEndpoint { get; }

    /// <summary>True for <c>UseDevelopmentStorage=true</c>.</summary>
    public bool IsDevelopmentStorage { get; }

    /// <summary>Shared Key or SAS.</summary>
    public StorageCredentialKind CredentialKind => SasToken is null ? StorageCredentialKind.SharedKey : StorageCredentialKind.SharedAccessSignature;

    /// <summary>The decoded account key (Shared Key only). Internal so it cannot leak through public surfaces.</summary>
    internal ReadOnlySpan<byte> AccountKey => _accountKey;

    /// <summary>The SAS token without leading '?' (SAS only). Internal so it cannot leak through public surfaces.</summary>
    internal string? SasToken { get; }

    /// <summary>
    /// Parses <paramref name="connectionString"/>. Throws <see cref="FormatException"/> naming the offending key (never its
    /// value when it is <c>AccountKey</c> or <c>SharedAccessSignature</c>) and <see cref="ArgumentNullException"/> for null.
    /// </summary>
    public static StorageConnectionString Parse(string connectionString)
    {
        ArgumentNullException.ThrowIfNull(connectionString);
        var settings = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var rawPart in connectionString.Split(';'))
        {
            var part = rawPart.Trim();
            if (part.Length == 0) continue;
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                // Do not echo the fragment: it could be a piece of a key that contained ';'.
                throw new FormatException("Storage connection string has a segment that is not of the form 'Key=Value'.");
            }
            var name = part[..eq].Trim();
            var value = part[(eq + 1)..].Trim();
            if (!KnownKeys.Contains(name) && !IgnoredKeys.Contains(name))
            {
                throw new FormatException($"Storage connection string has an unknown key '{SafeKeyName(name)}'.");
            }
            if (!settings.TryAdd(name, value))
            {
                throw new FormatException($"Storage connection string has a duplicate key '{name}'.");
            }
        }

        if (settings.Count == 0) throw new FormatException("Storage connection string is empty.");

        if (settings.TryGetValue("UseDevelopmentStorage", out var useDev))
        {
            if (!string.Equals(useDev, "true", StringComparison.OrdinalIgnoreCase))
                throw new FormatException("Storage connection string key 'UseDevelopmentStorage' only supports the value 'true'.");
            var other = settings.Keys.FirstOrDefault(k => !k.Equals("UseDevelopmentStorage", StringComparison.OrdinalIgnoreCase));
            if (other is not null)
                throw new FormatException($"Storage connection string key '{other}' cannot be combined with 'UseDevelopmentStorage'.");
            return Development();
        }

        settings.TryGetValue("AccountName", out var accountName);
        if (accountName is not null && !IsValidAccountName(accountName))
            throw new FormatException("Storage connection string key 'AccountName' must be 3–24 lowercase letters or digits.");

        var hasKey = settings.TryGetValue("AccountKey", out var accountKeyText);
        var hasSas = settings.TryGetValue("SharedAccessSignature", out var sasText);
        if (hasKey && hasSas)
            throw new FormatException("Storage connection string cannot contain both 'AccountKey' and 'SharedAccessSignature'.");
        if (!hasKey && !hasSas)
            throw new FormatException("Storage connection string needs 'AccountKey' (with 'AccountName') or 'SharedAccessSignature'.");

        var protocol = "https";
        if (settings.TryGetValue("DefaultEndpointsProtocol", out var protocolText))
        {
            protocol = protocolText.ToLowerInvariant();
            if (protocol is not ("http" or "https"))
                throw new FormatException("Storage connection string key 'DefaultEndpointsProtocol' must be 'http' or 'https'.");
        }

        var suffix = "core.windows.net";
        if (settings.TryGetValue("EndpointSuffix", out var suffixText))
        {
            suffix = suffixText.Trim('.');
            if (suffix.Length == 0 || Uri.CheckHostName(suffix) != UriHostNameType.Dns)
                throw new FormatException("Storage connection string key 'EndpointSuffix' must be a DNS suffix such as 'core.windows.net'.");
        }

        var blob = ParseEndpoint(settings, "BlobEndpoint");
        var queue = ParseEndpoint(settings, "QueueEndpoint");

        byte[]? key = null;
        string? sas = null;
        if (hasKey)
        {
            if (accountName is null)
                throw new FormatException("Storage connection string key 'AccountName' is required with 'AccountKey'.");
            key = DecodeKey(accountKeyText!);
        }
        else
        {
            sas = sasText!.TrimStart('?');
            if (sas.Length == 0 || !sas.Contains("sig=", StringComparison.Ordinal))
                throw new FormatException("Storage connection string key 'SharedAccessSignature' must be a SAS token containing 'sig='.");
            if (blob is null && queue is null && accountName is null)
                throw new FormatException("Storage connection string with 'SharedAccessSignature' needs 'BlobEndpoint', 'QueueEndpoint' or 'AccountName'.");
        }

        if (accountName is not null)
        {
            blob ??= new Uri($"{protocol}://{accountName}.blob.{suffix}");
            queue ??= new Uri($"{protocol}://{accountName}.queue.{suffix}");
        }
        else if (key is null)
        {
            // SAS without AccountName: take it from the endpoint when it is in the path (emulator) or the host (Azure).
            accountName = InferAccountName(blob ?? queue!);
        }

        return new StorageConnectionString(accountName, key, sas, blob, queue, isDevelopmentStorage: false);
    }

    /// <summary>The Azurite well-known account on 127.0.0.1 with the given ports (defaults 10000 / 10001).</summary>
    public static StorageConnectionString Development(int blobPort = 10000, int queuePort = 10001) => new(
        DevelopmentAccountName,
        Convert.FromBase64String(DevelopmentAccountKey),
        sasToken: null,
        new Uri($"http://127.0.0.1:{blobPort}/{DevelopmentAccountName}"),
        new Uri($"http://127.0.0.1:{queuePort}/{DevelopmentAccountName}"),
        isDevelopmentStorage: true);

    /// <summary>A copy of this connection string that authorizes with <paramref name="sasToken"/> (with or without leading '?') instead.</summary>
    public StorageConnectionString WithSharedAccessSignature(string sasToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sasToken);
        return new StorageConnectionString(AccountName, null, sasToken.TrimStart('?'), BlobEndpoint, QueueEndpoint, isDevelopmentStorage: false);
    }

    /// <summary>
    /// A description safe for logs: account, endpoints and credential kind, e.g.
    /// <c>AccountName=devstoreaccount1;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;…;Credential=SharedKey</c>.
    /// Never contains the account key or SAS token.
    /// </summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        if (AccountName is not null) sb.Append("AccountName=").Append(AccountName).Append(';');
        if (BlobEndpoint is not null) sb.Append("BlobEndpoint=").Append(BlobEndpoint.AbsoluteUri.TrimEnd('/')).Append(';');
        if (QueueEndpoint is not null) sb.Append("QueueEndpoint=").Append(QueueEndpoint.AbsoluteUri.TrimEnd('/')).Append(';');
        sb.Append("Credential=").Append(CredentialKind);
        return sb.ToString();
    }

    private static Uri? ParseEndpoint(Dictionary<string, string> settings, string key)
    {
        if (!settings.TryGetValue(key, out var text)) return null;
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw new FormatException($"Storage connection string key '{key}' must be an absolute http(s) URI.");
        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
            throw new FormatException($"Storage connection string key '{key}' must not contain a query, fragment or user info (put a SAS in 'SharedAccessSignature').");
        var trimmed = uri.AbsoluteUri.TrimEnd('/');
        return new Uri(trimmed);
    }

    private static byte[] DecodeKey(string text)
    {
        var buffer = new byte[text.Length];
        if (text.Length == 0 || !Convert.TryFromBase64String(text, buffer, out var written) || written == 0)
            throw new FormatException("Storage connection string key 'AccountKey' is not valid Base64.");
        return buffer[..written];
    }

    private static string? InferAccountName(Uri endpoint)
    {
        var firstSegment = endpoint.AbsolutePath.Trim('/').Split('/')[0];
        if (firstSegment.Length > 0 && IsValidAccountName(firstSegment)) return firstSegment;
        var hostLabel = endpoint.Host.Split('.')[0];
        return IsValidAccountName(hostLabel) && endpoint.HostNameType == UriHostNameType.Dns && endpoint.Host.Contains('.') ? hostLabel : null;
    }

    private static bool IsValidAccountName(string name) =>
        name.Length is >= 3 and <= 24 && name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9'));

    // Key names are not secret, but a mangled "AccountKey" fragment could be: cap length and characters.
    private static string SafeKeyName(string key) =>
        key.Length <= 40 && key.All(char.IsAsciiLetterOrDigit) ? key : "(unprintable or over-long key name)";
}
