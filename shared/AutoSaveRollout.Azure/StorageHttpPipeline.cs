using System.Globalization;
using System.Text;
using System.Xml.Linq;
using AutoSaveRollout.Core.Ports;

namespace AutoSaveRollout.Azure;

/// <summary>
/// Shared request plumbing for the Blob and Queue adapters: builds URIs (appending the SAS token when configured), stamps
/// <c>x-ms-version</c> / <c>x-ms-date</c>, signs with Shared Key, sends, and turns transport failures and error responses into
/// <see cref="StorageException"/> without ever putting the URL (which may hold a SAS) or keys into messages.
/// </summary>
internal sealed class StorageHttpPipeline
{
    /// <summary>Pinned REST version: accepted by Azure and by Azurite 3.34+ (fact sheet A3).</summary>
    public const string ApiVersion = "2025-05-05";

    private readonly StorageConnectionString _connection;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly SharedKeyAuthenticator? _signer;
    private readonly string _service;

    public StorageHttpPipeline(StorageConnectionString connection, HttpClient http, TimeProvider time, Uri endpoint, string service)
    {
        _connection = connection;
        _http = http;
        _time = time;
        _service = service;
        Endpoint = endpoint;
        if (connection.CredentialKind == StorageCredentialKind.SharedKey) _signer = new SharedKeyAuthenticator(connection);
    }

    /// <summary>Service endpoint without trailing slash.</summary>
    public Uri Endpoint { get; }

    /// <summary>
    /// <c>{endpoint}/{escapedPath}?{query}</c> plus the SAS token. <paramref name="escapedPath"/> must already be URL-escaped;
    /// query values are escaped here.
    /// </summary>
    public Uri BuildUri(string escapedPath, params (string Name, string Value)[] query)
    {
        var sb = new StringBuilder(Endpoint.AbsoluteUri.TrimEnd('/'));
        if (escapedPath.Length > 0) sb.Append('/').Append(escapedPath);
        var separator = '?';
        foreach (var (name, value) in query)
        {
            sb.Append(separator).Append(name).Append('=').Append(Uri.EscapeDataString(value));
            separator = '&';
        }
        if (_connection.SasToken is { } sas) sb.Append(separator).Append(sas);
        return new Uri(sb.ToString());
    }

    /// <summary>
    /// Sends a request. <paramref name="configure"/> adds operation headers; <paramref name="content"/> is the body (null → none).
    /// Returns the response whatever its status; throws a transient <see cref="StorageException"/> (status 0) when no response
    /// arrived, and <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/> fired.
    /// </summary>
    public async Task<HttpResponseMessage> SendAsync(
        HttpMethod method,
        Uri uri,
        string operation,
        string resource,
        Action<HttpRequestMessage>? configure = null,
        HttpContent? content = null,
        HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead,
        CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(method, uri) { Content = content };
        request.Headers.TryAddWithoutValidation("x-ms-version", ApiVersion);
        request.Headers.TryAddWithoutValidation("x-ms-date", _time.GetUtcNow().UtcDateTime.ToString("r", CultureInfo.InvariantCulture));
        configure?.Invoke(request);
        _signer?.Sign(request);
        try
        {
            return await _http.SendAsync(request, completion, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException ex)
        {
            throw new StorageException($"Azure {_service} {operation} '{resource}' timed out.", 0, "ClientTimeout", isTransient: true, ex);
        }
        catch (HttpRequestException ex)
        {
            throw new StorageException($"Azure {_service} {operation} '{resource}' failed without a response ({ex.HttpRequestError}).", 0, null, isTransient: true, ex);
        }
        catch (IOException ex)
        {
            throw new StorageException($"Azure {_service} {operation} '{resource}' failed with an I/O error.", 0, null, isTransient: true, ex);
        }
    }

    /// <summary>The <c>x-ms-error-code</c> header, or the <c>&lt;Code&gt;</c> of the XML error body when the header is absent.</summary>
    public static async Task<string?> ReadErrorCodeAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Headers.TryGetValues("x-ms-error-code", out var codes)) return codes.FirstOrDefault();
        try
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (body.Length == 0 || body.Length > 64 * 1024) return null;
            return XDocument.Parse(body).Root?.Element("Code")?.Value;
        }
        catch (Exception ex) when (ex is System.Xml.XmlException or IOException or HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Builds the <see cref="StorageException"/> for an unexpected response (disposes nothing; the caller owns it).</summary>
    public async Task<StorageException> ErrorAsync(HttpResponseMessage response, string operation, string resource, CancellationToken cancellationToken)
    {
        var code = await ReadErrorCodeAsync(response, cancellationToken).ConfigureAwait(false);
        return Error((int)response.StatusCode, code, operation, resource, response);
    }

    /// <summary>Builds a <see cref="StorageException"/> from a status and code already read.</summary>
    public StorageException Error(int status, string? code, string operation, string resource, HttpResponseMessage? response = null)
    {
        var requestId = response?.Headers.TryGetValues("x-ms-request-id", out var ids) == true ? ids.FirstOrDefault() : null;
        var message = $"Azure {_service} {operation} '{resource}' failed: HTTP {status} {code ?? "(no error code)"}"
            + (requestId is null ? "." : $" (x-ms-request-id {requestId}).");
        return new StorageException(message, status, code, StorageErrorClassifier.IsTransient(status, code));
    }
}
