using System.IO.Compression;
using System.Text;
using AutoSaveRollout.Tests.Functions.Rpc;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Xunit.Abstractions;

namespace AutoSaveRollout.Tests.Functions;

/// <summary>
/// With <c>APPLICATIONINSIGHTS_CONNECTION_STRING</c> set, the worker exports its invocation traces through OpenTelemetry
/// and the Azure Monitor exporter; a Kestrel listener stands in for the ingestion endpoint (<c>/v2.1/track</c>). The
/// exporter flushes when the worker stops (<c>WorkerTerminate</c>).
/// </summary>
[Collection(AzuriteCollection.Name)]
public sealed class FunctionsTelemetryTests(AzuriteFixture azurite, ITestOutputHelper output)
{
    [Fact]
    public async Task Invocation_traces_reach_the_Application_Insights_ingestion_endpoint()
    {
        await using var ingestion = await RecordingServer.StartAsync();
        ingestion.SetFallback(r => ScriptedResponse.Json(200, """{"itemsReceived":1,"itemsAccepted":1,"errors":[]}"""));
        var settings = new Dictionary<string, string>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
            ["Reporter__DryRun"] = "true",
            ["Telemetry__Path"] = RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl"),
            ["APPLICATIONINSIGHTS_CONNECTION_STRING"] =
                $"InstrumentationKey=00000000-0000-0000-0000-000000000001;IngestionEndpoint={ingestion.BaseUri}",
        };

        await using (var host = await FunctionsTestHost.StartAsync(settings))
        {
            var response = await host.InvokeTimerAsync("Lifecycle");
            Assert.Equal(StatusResult.Types.Status.Success, response.Result.Status);
        } // WorkerTerminate: the worker stops, and the exporter flushes.

        var bodies = ingestion.Requests.Where(r => r.Path.EndsWith("/track", StringComparison.Ordinal)).Select(Decode).ToList();
        output.WriteLine($"{bodies.Count} track requests, {bodies.Sum(b => b.Split('\n').Length)} items");
        // The worker's invocation activity, as an Application Insights dependency named after the function.
        Assert.Contains(bodies, b => b.Contains("\"name\":\"function Lifecycle\"", StringComparison.Ordinal)
                                     && b.Contains("\"faas.name\":\"Lifecycle\"", StringComparison.Ordinal));
    }

    private static string Decode(RecordedRequest r)
    {
        if (r.Header("Content-Encoding") is not "gzip") return r.Body;
        using var gz = new GZipStream(new MemoryStream(r.BodyBytes), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
