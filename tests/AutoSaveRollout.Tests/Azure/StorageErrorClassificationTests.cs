using System.Net;
using System.Net.Sockets;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Configuration;

namespace AutoSaveRollout.Tests.Azure;

/// <summary>
/// Throttling and failure classification through the real adapters against a Kestrel server on 127.0.0.1 that answers
/// like Azure Storage does when it is busy or refuses a request (status + <c>x-ms-error-code</c>, or only an XML body).
/// </summary>
public sealed class StorageErrorClassificationTests : IAsyncLifetime
{
    private WebApplication? _app;
    private volatile Func<HttpContext, Task> _respond = _ => Task.CompletedTask;
    private readonly List<string> _requests = new();

    private string Endpoint { get; set; } = "";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _app = builder.Build();
        _app.Run(async context =>
        {
            lock (_requests) _requests.Add($"{context.Request.Method} {context.Request.Path}{context.Request.QueryString}");
            await _respond(context);
        });
        await _app.StartAsync();
        var address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Endpoint = address.TrimEnd('/') + "/devstoreaccount1";
    }

    public async Task DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }

    private string Connection =>
        $"AccountName=devstoreaccount1;AccountKey={AzuriteFixture.DevelopmentAccountKey};BlobEndpoint={Endpoint};QueueEndpoint={Endpoint}";

    // The adapters through the production entry point, on this server; no SDK retries unless asked, so one request per call.
    private static AzureStoragePorts Ports(string connection, int maxRetries = 0, TimeSpan? networkTimeout = null) =>
        AzureStorageRegistration.Create(
            new ConfigurationBuilder().AddInMemoryCollection([new KeyValuePair<string, string?>("Storage", connection)]).Build(), "Storage",
            new AzureStorageOptions
            {
                MaxRetries = maxRetries, RetryDelay = TimeSpan.FromMilliseconds(10), MaxRetryDelay = TimeSpan.FromMilliseconds(20),
                NetworkTimeout = networkTimeout ?? TimeSpan.FromSeconds(30),
            });

    private void RespondWith(int status, string? errorCode, string? xmlCode = null, TimeSpan? delay = null) => _respond = async context =>
    {
        if (delay is { } d) await Task.Delay(d, context.RequestAborted);
        context.Response.StatusCode = status;
        if (errorCode is not null) context.Response.Headers["x-ms-error-code"] = errorCode;
        context.Response.Headers["x-ms-request-id"] = "req-123";
        if (xmlCode is not null)
        {
            context.Response.ContentType = "application/xml";
            await context.Response.WriteAsync($"<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{xmlCode}</Code><Message>m</Message></Error>");
        }
    };

    [Theory]
    [InlineData(503, "ServerBusy", true)]
    [InlineData(500, "InternalError", true)]
    [InlineData(500, "OperationTimedOut", true)]
    [InlineData(502, null, true)]
    [InlineData(504, null, true)]
    [InlineData(429, null, true)]
    [InlineData(408, null, true)]
    [InlineData(403, "AuthenticationFailed", false)]
    [InlineData(400, "InvalidHeaderValue", false)]
    [InlineData(413, "RequestBodyTooLarge", false)]
    public async Task Blob_put_failures_carry_status_code_and_transience(int status, string? code, bool transient)
    {
        RespondWith(status, code);

        var ex = await Assert.ThrowsAsync<StorageException>(() =>
            Ports(Connection).Blobs.PutAsync("c01/x.json", "x"u8.ToArray(), WriteCondition.None));

        Assert.IsNotType<ConcurrencyConflictException>(ex);
        Assert.Equal(status, ex.Status);
        Assert.Equal(code, ex.ErrorCode);
        Assert.Equal(transient, ex.IsTransient);
        Assert.Contains("c01/x.json", ex.Message);
        Assert.Contains("req-123", ex.Message);
        Assert.DoesNotContain(AzuriteFixture.DevelopmentAccountKey, ex.ToString());
    }

    [Fact]
    public async Task Append_past_50000_blocks_is_a_permanent_BlockCountExceedsLimit()
    {
        RespondWith(409, "BlockCountExceedsLimit");

        var ex = await Assert.ThrowsAsync<StorageException>(() => Ports(Connection).Blobs.AppendAsync("c01/log.jsonl", "x"u8.ToArray()));

        Assert.Equal(409, ex.Status);
        Assert.Equal("BlockCountExceedsLimit", ex.ErrorCode);
        Assert.False(ex.IsTransient);
        Assert.Single(_requests); // no create-and-retry: only a 404 triggers that
    }

    [Fact]
    public async Task Error_code_falls_back_to_the_xml_body_when_the_header_is_missing()
    {
        RespondWith(503, errorCode: null, xmlCode: "ServerBusy");

        var ex = await Assert.ThrowsAsync<StorageException>(() =>
            Ports(Connection).Queues.GetQueue("jobs").SendAsync("x"));

        Assert.Equal("ServerBusy", ex.ErrorCode);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task Throttled_queue_receive_and_lease_acquire_are_transient()
    {
        RespondWith(503, "ServerBusy");

        var receive = await Assert.ThrowsAsync<StorageException>(() =>
            Ports(Connection).Queues.GetQueue("jobs").ReceiveAsync(16, TimeSpan.FromMinutes(10)));
        var lease = await Assert.ThrowsAsync<StorageException>(() =>
            Ports(Connection).Locks.TryAcquireAsync("collector", TimeSpan.FromSeconds(60)));

        Assert.True(receive.IsTransient);
        Assert.True(lease.IsTransient);
        Assert.Equal(503, lease.Status);
    }

    [Fact]
    public async Task A_client_timeout_is_transient_with_status_0()
    {
        RespondWith(201, null, delay: TimeSpan.FromSeconds(10));

        var ex = await Assert.ThrowsAsync<StorageException>(() =>
            Ports(Connection, networkTimeout: TimeSpan.FromMilliseconds(300)).Blobs.TryGetAsync("c01/x.json"));

        Assert.Equal(0, ex.Status);
        Assert.Equal("ClientTimeout", ex.ErrorCode);
        Assert.True(ex.IsTransient);
    }

    [Fact]
    public async Task Caller_cancellation_is_not_turned_into_a_storage_error()
    {
        RespondWith(201, null, delay: TimeSpan.FromSeconds(10));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Ports(Connection).Blobs.TryGetAsync("c01/x.json", cts.Token));
    }

    [Fact]
    public async Task A_refused_connection_is_transient_with_status_0()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var cs = $"AccountName=devstoreaccount1;AccountKey={AzuriteFixture.DevelopmentAccountKey};" +
                 $"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1";

        var ex = await Assert.ThrowsAsync<StorageException>(() => Ports(cs, maxRetries: 2).Blobs.DeleteAsync("c01/x.json"));

        Assert.Equal(0, ex.Status);
        Assert.True(ex.IsTransient);
        Assert.True(ex.RetriedByClient);
    }

    [Fact]
    public async Task A_transient_failure_is_retried_by_the_sdk_a_bounded_number_of_times_and_marked_so()
    {
        RespondWith(503, "ServerBusy");

        var ex = await Assert.ThrowsAsync<StorageException>(() => Ports(Connection, maxRetries: 2).Blobs.TryGetAsync("c01/x.json"));

        Assert.Equal(3, _requests.Count); // 1 + MaxRetries
        Assert.True(ex.IsTransient);
        Assert.True(ex.RetriedByClient);
        // The pipeline's Polly retries do not retry it again, so the two layers do not multiply.
        Assert.False(Core.Reliability.RetryPolicy.ShouldRetry(new Core.Reliability.RetryOptions().CollectorSource, ex));
    }

    [Fact]
    public async Task A_permanent_failure_is_not_retried()
    {
        RespondWith(403, "AuthorizationFailure");

        var ex = await Assert.ThrowsAsync<StorageException>(() => Ports(Connection, maxRetries: 2).Blobs.TryGetAsync("c01/x.json"));

        Assert.Single(_requests);
        Assert.False(ex.RetriedByClient);
    }

    [Fact]
    public async Task Requests_carry_the_pinned_version_a_date_and_a_shared_key_authorization()
    {
        string? version = null, date = null, auth = null;
        _respond = context =>
        {
            version = context.Request.Headers["x-ms-version"];
            date = context.Request.Headers["x-ms-date"];
            auth = context.Request.Headers.Authorization;
            context.Response.StatusCode = 404;
            return Task.CompletedTask;
        };

        Assert.Null(await Ports(Connection).Blobs.TryGetAsync("c01/x.json"));

        Assert.Equal("2026-06-06", version);
        Assert.True(DateTimeOffset.TryParse(date, out var sent));
        Assert.InRange(sent, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.StartsWith("SharedKey devstoreaccount1:", auth);
    }

    [Fact]
    public async Task Sas_requests_append_the_token_and_send_no_authorization_header()
    {
        string? query = null;
        var hadAuth = true;
        _respond = context =>
        {
            query = context.Request.QueryString.Value;
            hadAuth = context.Request.Headers.ContainsKey("Authorization");
            context.Response.StatusCode = 404;
            return Task.CompletedTask;
        };
        var cs = $"BlobEndpoint={Endpoint};QueueEndpoint={Endpoint};SharedAccessSignature=sv=2025-05-05&ss=b&srt=o&sp=r&sig=abc%2Bdef%3D";

        Assert.Null(await Ports(cs).Blobs.TryGetAsync("c01/x.json"));

        Assert.Contains("sig=abc%2Bdef%3D", query);
        Assert.False(hadAuth);
    }
}
