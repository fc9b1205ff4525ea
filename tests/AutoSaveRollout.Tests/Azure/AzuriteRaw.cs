using System.Globalization;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Azure;

/// <summary>
/// Direct signed REST calls to the test Azurite, for observing what the adapters cannot show (blob properties, breaking a
/// lease). Signed with the production <see cref="SharedKeyAuthenticator"/>.
/// </summary>
internal static class AzuriteRaw
{
    /// <summary>Sends <paramref name="method"/> to <c>{BlobEndpoint}/{pathAndQuery}</c> with the given extra headers.</summary>
    public static async Task<HttpResponseMessage> SendBlobAsync(
        AzuriteFixture azurite, HttpClient http, HttpMethod method, string pathAndQuery, params (string Name, string Value)[] headers)
    {
        var cs = azurite.Connection;
        var request = new HttpRequestMessage(method, $"{cs.BlobEndpoint!.AbsoluteUri.TrimEnd('/')}/{pathAndQuery}");
        if (method == HttpMethod.Put) request.Content = new ByteArrayContent([]);
        request.Headers.TryAddWithoutValidation("x-ms-version", "2025-05-05");
        request.Headers.TryAddWithoutValidation("x-ms-date", DateTime.UtcNow.ToString("r", CultureInfo.InvariantCulture));
        foreach (var (name, value) in headers) request.Headers.TryAddWithoutValidation(name, value);
        new SharedKeyAuthenticator(cs).Sign(request);
        return await http.SendAsync(request);
    }

    /// <summary>Get Blob Properties (HEAD) headers, or null on 404.</summary>
    public static async Task<HttpResponseMessage?> HeadBlobAsync(AzuriteFixture azurite, HttpClient http, string path)
    {
        var response = await SendBlobAsync(azurite, http, HttpMethod.Head, path);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            response.Dispose();
            return null;
        }
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    /// <summary>First value of a response header, or null.</summary>
    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault()
        : response.Content.Headers.TryGetValues(name, out var contentValues) ? contentValues.FirstOrDefault()
        : null;
}
