using System.Text.Json;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Tests.Support;

namespace AutoSaveRollout.Tests.Azure.Interop;

/// <summary>
/// Live signer cross-check: <c>capture-signatures.mjs</c> lets Microsoft's JS clients sign a set of blob and queue requests
/// (special characters in paths, encoded query values, conditional headers, lease headers, XML bodies) against a local
/// capture server; each captured request is rebuilt here and must get the identical Authorization header from
/// <see cref="SharedKeyAuthenticator"/>.
/// </summary>
public sealed class JsSignatureInteropTests
{
    private static readonly HashSet<string> Skipped = new(StringComparer.OrdinalIgnoreCase) { "authorization", "host", "connection", "content-length" };
    private static readonly HashSet<string> ContentHeaders = new(StringComparer.OrdinalIgnoreCase)
        { "content-type", "content-encoding", "content-language", "content-md5" };

    [Fact]
    public async Task Every_request_signed_by_the_js_sdk_gets_the_same_signature_from_our_signer()
    {
        var root = AzuriteFixture.FindRepoRoot();
        var stdout = await NodeScript.RunAsync(root, "capture-signatures.mjs", new Dictionary<string, string>());
        using var doc = JsonDocument.Parse(stdout);
        var signer = new SharedKeyAuthenticator(StorageConnectionString.Parse("UseDevelopmentStorage=true"));
        var ops = new List<string>();

        foreach (var captured in doc.RootElement.EnumerateArray())
        {
            var op = captured.GetProperty("op").GetString()!;
            ops.Add(op);
            var headers = captured.GetProperty("headers");
            var body = Convert.FromBase64String(captured.GetProperty("bodyBase64").GetString()!);
            var hasLength = headers.TryGetProperty("content-length", out _);
            using var request = new HttpRequestMessage(new HttpMethod(captured.GetProperty("method").GetString()!),
                "http://127.0.0.1:1" + captured.GetProperty("url").GetString());
            if (body.Length > 0 || hasLength) request.Content = new ByteArrayContent(body);
            foreach (var header in headers.EnumerateObject())
            {
                if (Skipped.Contains(header.Name)) continue;
                if (ContentHeaders.Contains(header.Name))
                    Assert.True(request.Content!.Headers.TryAddWithoutValidation(header.Name, header.Value.GetString()), op);
                else
                    Assert.True(request.Headers.TryAddWithoutValidation(header.Name, header.Value.GetString()), op);
            }

            signer.Sign(request);

            Assert.Equal(headers.GetProperty("authorization").GetString(), string.Join(",", request.Headers.NonValidated["Authorization"]));
        }

        Assert.Equal(
            ["put-block-blob-if-none-match", "put-block-blob-if-match", "append-block", "list-blobs-prefix", "lease-acquire",
             "delete-blob", "queue-put-message", "queue-delete-message"],
            ops);
    }
}
