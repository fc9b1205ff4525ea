using System.Text;
using AutoSaveRollout.Azure;

namespace AutoSaveRollout.Tests.Azure;

/// <summary>
/// Shared Key signing against known-good vectors. The expected Authorization values were produced by Microsoft's JS client
/// (@azure/storage-blob 12.32.0 / @azure/storage-queue 12.30.0) signing these exact requests, captured with
/// <c>Azure/Interop/capture-signatures.mjs</c>; <see cref="Interop.JsSignatureInteropTests"/> re-checks them live.
/// </summary>
public sealed class SharedKeyAuthenticatorTests
{
    private static readonly SharedKeyAuthenticator Signer = new(
        StorageConnectionString.DevelopmentAccountName, Convert.FromBase64String(StorageConnectionString.DevelopmentAccountKey));

    [Fact]
    public void Put_block_blob_with_if_none_match_matches_the_js_sdk_signature()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, "http://127.0.0.1:45771/devstoreaccount1/vectors/2026/11/20/10%2015.jsonl")
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes("hello\n")),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/octet-stream");
        request.Headers.TryAddWithoutValidation("x-ms-version", "2026-04-06");
        request.Headers.TryAddWithoutValidation("If-None-Match", "*");
        request.Headers.TryAddWithoutValidation("Accept", "application/xml");
        request.Headers.TryAddWithoutValidation("x-ms-blob-type", "BlockBlob");
        request.Headers.TryAddWithoutValidation("x-ms-client-request-id", "2ef86abc-7bf5-4b0a-b0e4-16b5d20a3f09");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Fri, 20 Nov 2026 23:19:53 GMT");

        Signer.Sign(request);

        Assert.Equal("SharedKey devstoreaccount1:oFLyKz5SiJZk2/Y75GA79yF2WM6RMDtrnEQlndhd7GY=", Authorization(request));
    }

    [Fact]
    public void List_blobs_with_encoded_prefix_matches_the_js_sdk_signature()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get,
            "http://127.0.0.1:45771/devstoreaccount1/vectors?comp=list&prefix=2026%2F11%2020%2Bx%2F&maxresults=7&restype=container");
        request.Headers.TryAddWithoutValidation("x-ms-version", "2026-04-06");
        request.Headers.TryAddWithoutValidation("x-ms-client-request-id", "6e77a4ac-7383-4610-9e79-bbe528ca7072");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Fri, 20 Nov 2026 23:19:53 GMT");

        Signer.Sign(request);

        Assert.Equal("SharedKey devstoreaccount1:cMnsuiy0TGU54keKXOJhADLyoJwvMxsQ5dRgvKmdwFc=", Authorization(request));
    }

    [Fact]
    public void Delete_message_with_url_encoded_pop_receipt_matches_the_js_sdk_signature()
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete,
            "http://127.0.0.1:45771/devstoreaccount1/rollout-windows/messages/a1b2c3?popreceipt=AgAAAAMAAAAAAAAA%2B%2Fx%3DZz9&timeout=30");
        request.Headers.TryAddWithoutValidation("x-ms-version", "2026-04-06");
        request.Headers.TryAddWithoutValidation("x-ms-client-request-id", "661bd075-28a9-467a-8733-58bf2af68404");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Fri, 20 Nov 2026 23:19:53 GMT");

        Signer.Sign(request);

        Assert.Equal("SharedKey devstoreaccount1:W3N658LUE3w37aeUjUbT7DVxRaBgIvxiQugC2sdZC1A=", Authorization(request));
    }

    [Fact]
    public void String_to_sign_has_twelve_standard_lines_sorted_ms_headers_and_the_account_twice_for_path_style_urls()
    {
        using var request = new HttpRequestMessage(HttpMethod.Put,
            "http://127.0.0.1:10000/devstoreaccount1/locks/collector?comp=lease&Timeout=30&b=2&b=1")
        {
            Content = new ByteArrayContent([]),
        };
        request.Headers.TryAddWithoutValidation("x-ms-version", "2025-05-05");
        request.Headers.TryAddWithoutValidation("X-MS-Lease-Action", "acquire");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Fri, 20 Nov 2026 10:15:00 GMT");
        request.Headers.TryAddWithoutValidation("If-Match", "\"0x1\"");

        var stringToSign = Signer.BuildStringToSign(request);

        Assert.Equal(
            "PUT\n" +
            "\n" + // Content-Encoding
            "\n" + // Content-Language
            "\n" + // Content-Length 0 → empty (2015-02-21+)
            "\n" + // Content-MD5
            "\n" + // Content-Type
            "\n" + // Date (x-ms-date is used)
            "\n" + // If-Modified-Since
            "\"0x1\"\n" +
            "\n" + // If-None-Match
            "\n" + // If-Unmodified-Since
            "\n" + // Range
            "x-ms-date:Fri, 20 Nov 2026 10:15:00 GMT\n" +
            "x-ms-lease-action:acquire\n" +
            "x-ms-version:2025-05-05\n" +
            "/devstoreaccount1/devstoreaccount1/locks/collector\n" +
            "b:1,2\n" +
            "comp:lease\n" +
            "timeout:30",
            stringToSign);
    }

    [Fact]
    public void Non_empty_content_length_and_type_are_signed_and_query_values_are_decoded()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "https://acct.queue.core.windows.net/q/messages?visibilitytimeout=5&x=a%2Bb%20c")
        {
            Content = new ByteArrayContent(new byte[12]),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/xml; charset=utf-8");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Fri, 20 Nov 2026 10:15:00 GMT");
        var signer = new SharedKeyAuthenticator("acct", Convert.FromBase64String("AAAA"));

        var lines = signer.BuildStringToSign(request).Split('\n');

        Assert.Equal("POST", lines[0]);
        Assert.Equal("12", lines[3]);
        Assert.Equal("application/xml; charset=utf-8", lines[5]);
        Assert.Equal("x-ms-date:Fri, 20 Nov 2026 10:15:00 GMT", lines[12]);
        Assert.Equal("/acct/q/messages", lines[13]);
        Assert.Equal("visibilitytimeout:5", lines[14]);
        Assert.Equal("x:a+b c", lines[15]);
    }

    [Fact]
    public void Signing_replaces_a_previous_authorization_header()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "http://127.0.0.1:10000/devstoreaccount1/c?restype=container");
        request.Headers.TryAddWithoutValidation("x-ms-date", "Fri, 20 Nov 2026 10:15:00 GMT");
        Signer.Sign(request);
        var first = Authorization(request);
        Signer.Sign(request);

        Assert.Equal(first, Authorization(request));
        Assert.Single(request.Headers.NonValidated["Authorization"]);
    }

    private static string Authorization(HttpRequestMessage request) =>
        string.Join(",", request.Headers.NonValidated["Authorization"]);
}
