using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace AutoSaveRollout.Azure;

/// <summary>
/// Signs Blob/Queue requests with Shared Key, per learn "Authorize with Shared Key" (version 2009-09-19 and later):
/// <c>Authorization: SharedKey {account}:Base64(HMAC-SHA256(key, UTF8(StringToSign)))</c>.
/// StringToSign = VERB, Content-Encoding, Content-Language, Content-Length (empty when 0, rule for 2015-02-21+),
/// Content-MD5, Content-Type, Date, If-Modified-Since, If-Match, If-None-Match, If-Unmodified-Since, Range — each followed by
/// <c>\n</c> — then the canonicalized <c>x-ms-*</c> headers (<c>name:value\n</c>, lowercase names, ordinal order) and the
/// canonicalized resource (<c>/{account}{encoded URI path}</c>, then <c>\n{lowercase name}:{decoded values, sorted, comma-joined}</c>
/// per query parameter in ordinal order). For path-style emulator URLs the account therefore appears twice
/// (<c>/devstoreaccount1/devstoreaccount1/container/blob</c>), as the docs and Azurite expect.
/// The values signed are read back from the <see cref="HttpRequestMessage"/> itself (without validation) so that what is
/// signed is what is sent; send <c>x-ms-date</c> and leave <c>Date</c> unset.
/// </summary>
public sealed class SharedKeyAuthenticator
{
    private readonly byte[] _key;

    /// <summary>Creates a signer for <paramref name="accountName"/> with the Base64-decoded account key <paramref name="accountKey"/>.</summary>
    public SharedKeyAuthenticator(string accountName, ReadOnlySpan<byte> accountKey)
    {
        ArgumentException.ThrowIfNullOrEmpty(accountName);
        if (accountKey.IsEmpty) throw new ArgumentException("Account key must not be empty.", nameof(accountKey));
        AccountName = accountName;
        _key = accountKey.ToArray();
    }

    /// <summary>Creates a signer from a Shared Key connection string; throws <see cref="ArgumentException"/> for a SAS one.</summary>
    public SharedKeyAuthenticator(StorageConnectionString connectionString)
        : this(
            connectionString.AccountName ?? throw new ArgumentException("Connection string has no account name.", nameof(connectionString)),
            connectionString.CredentialKind == StorageCredentialKind.SharedKey
                ? connectionString.AccountKey
                : throw new ArgumentException("Connection string uses a SAS, not Shared Key.", nameof(connectionString)))
    {
    }

    /// <summary>The storage account name used in the header and the canonicalized resource.</summary>
    public string AccountName { get; }

    /// <summary>Adds the <c>Authorization: SharedKey …</c> header to <paramref name="request"/> (which must already carry every other header and its content).</summary>
    public void Sign(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        request.Headers.Remove("Authorization");
        var signature = ComputeSignature(BuildStringToSign(request));
        request.Headers.TryAddWithoutValidation("Authorization", $"SharedKey {AccountName}:{signature}");
    }

    /// <summary>Base64 HMAC-SHA256 of the UTF-8 <paramref name="stringToSign"/> under the account key.</summary>
    public string ComputeSignature(string stringToSign)
    {
        ArgumentNullException.ThrowIfNull(stringToSign);
        return Convert.ToBase64String(HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(stringToSign)));
    }

    /// <summary>The exact StringToSign for <paramref name="request"/> (see the type remarks for the layout).</summary>
    public string BuildStringToSign(HttpRequestMessage request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var uri = request.RequestUri ?? throw new ArgumentException("Request has no URI.", nameof(request));
        if (!uri.IsAbsoluteUri) throw new ArgumentException("Request URI must be absolute.", nameof(request));

        var contentHeaders = request.Content?.Headers;
        var contentLength = contentHeaders?.ContentLength;
        var sb = new StringBuilder(256);
        sb.Append(request.Method.Method.ToUpperInvariant()).Append('\n');
        sb.Append(Header(contentHeaders, "Content-Encoding")).Append('\n');
        sb.Append(Header(contentHeaders, "Content-Language")).Append('\n');
        sb.Append(contentLength is null or 0 ? "" : contentLength.Value.ToString(System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
        sb.Append(Header(contentHeaders, "Content-MD5")).Append('\n');
        sb.Append(Header(contentHeaders, "Content-Type")).Append('\n');
        sb.Append(Header(request.Headers, "Date")).Append('\n');
        sb.Append(Header(request.Headers, "If-Modified-Since")).Append('\n');
        sb.Append(Header(request.Headers, "If-Match")).Append('\n');
        sb.Append(Header(request.Headers, "If-None-Match")).Append('\n');
        sb.Append(Header(request.Headers, "If-Unmodified-Since")).Append('\n');
        sb.Append(Header(request.Headers, "Range")).Append('\n');
        AppendCanonicalizedHeaders(sb, request.Headers);
        AppendCanonicalizedResource(sb, AccountName, uri);
        return sb.ToString();
    }

    private static string Header(HttpHeaders? headers, string name) =>
        headers is not null && headers.NonValidated.TryGetValues(name, out var values) ? string.Join(",", values) : "";

    private static void AppendCanonicalizedHeaders(StringBuilder sb, HttpRequestHeaders headers)
    {
        var msHeaders = new List<KeyValuePair<string, string>>();
        foreach (var header in headers.NonValidated)
        {
            if (!header.Key.StartsWith("x-ms-", StringComparison.OrdinalIgnoreCase)) continue;
            var value = string.Join(",", header.Value.Select(v => UnfoldWhitespace(v).Trim()));
            msHeaders.Add(new(header.Key.Trim().ToLowerInvariant(), value));
        }
        // Ordinal order; for the header names this client sends it equals the SDKs' culture-aware ordering.
        msHeaders.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var (name, value) in msHeaders) sb.Append(name).Append(':').Append(value).Append('\n');
    }

    private static string UnfoldWhitespace(string value) =>
        value.Contains('\r') || value.Contains('\n') ? value.Replace("\r\n", " ").Replace('\n', ' ').Replace('\r', ' ') : value;

    private static void AppendCanonicalizedResource(StringBuilder sb, string account, Uri uri)
    {
        sb.Append('/').Append(account).Append(uri.AbsolutePath);
        var query = uri.Query;
        if (query.Length <= 1) return;
        var parameters = new SortedDictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var pair in query[1..].Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            var name = Decode(eq < 0 ? pair : pair[..eq]).ToLowerInvariant();
            var value = eq < 0 ? "" : Decode(pair[(eq + 1)..]);
            if (!parameters.TryGetValue(name, out var list)) parameters[name] = list = new List<string>();
            list.Add(value);
        }
        foreach (var (name, values) in parameters)
        {
            values.Sort(StringComparer.Ordinal);
            sb.Append('\n').Append(name).Append(':').Append(string.Join(",", values));
        }
    }

    private static string Decode(string text) => Uri.UnescapeDataString(text.Replace('+', ' '));
}
