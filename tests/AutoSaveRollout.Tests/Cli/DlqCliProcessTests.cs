using System.Text.Json;
using AutoSaveRollout.Adapters.Storage.FileSystem;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Support;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Cli;

/// <summary>Messages poisoned by the real queue processor, then handled with the real binary's <c>dlq</c> commands.</summary>
public sealed class DlqCliProcessTests : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-dlq-cli-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_cwd, true); } catch (IOException) { }
    }

    internal static async Task PoisonAsync(IQueueFactory queues, IBlobStore blobs, string queueName, string text, Exception error)
    {
        var queue = queues.GetQueue(queueName);
        await queue.CreateIfNotExistsAsync();
        await queue.SendAsync(text);
        await new QueueProcessor(queues, queueName, (_, _) => throw error, new QueueProcessingOptions { MaxDequeueCount = 1 }, blobs, TimeProvider.System)
            .ProcessOnceAsync();
    }

    [Fact]
    public async Task List_retry_and_purge_on_the_embedded_store()
    {
        var root = Path.Combine(_cwd, PipelineFactory.DefaultStorageRoot);
        var queues = new FileQueueFactory(root, TimeProvider.System);
        var blobs = new FileBlobStore(PipelineFactory.BlobRoot(root));
        await PoisonAsync(queues, blobs, StorePaths.ReportQueue, "{\"decision\":\"permanent\"}", new DeliveryException("flag-service", 403, false, "HTTP 403 forbidden"));
        await PoisonAsync(queues, blobs, StorePaths.ReportQueue, "{\"decision\":\"transient\"}", new DeliveryException("pagerduty", 503, true, "HTTP 503 unavailable"));
        await PoisonAsync(queues, blobs, StorePaths.AnalyzeQueue, "not json", new JsonException("'n' is an invalid start of a value"));
        var letters = await new DeadLetterService(queues, blobs, TimeProvider.System).ListAsync();
        var permanent = letters.Single(d => d.Text.Contains("permanent")).Id;
        var transient = letters.Single(d => d.Text.Contains("transient")).Id;

        var (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "dlq", "list");
        Assert.True(exit == 0, stderr);
        Assert.Contains("3 dead letter(s): autosave-analyze 1, autosave-report 2", stdout);
        var permanentRow = stdout.Split('\n').Single(l => l.Contains(permanent));
        Assert.Matches(@"autosave-report\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+1\s+yes\s+DeliveryException: HTTP 403 forbidden", permanentRow);
        Assert.Matches(@"\s1\s+no\s+DeliveryException: HTTP 503 unavailable", stdout.Split('\n').Single(l => l.Contains(transient)));
        Assert.Matches(@"autosave-analyze\s.*\syes\s+JsonException: 'n' is an invalid start of a value", stdout);

        (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "dlq", "list", "--queue", "autosave-analyze");
        Assert.True(exit == 0, stderr);
        Assert.Contains("1 dead letter(s): autosave-analyze 1", stdout);

        (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "dlq", "retry", permanent);
        Assert.Equal(0, exit);
        Assert.StartsWith("WARNING: the last error was permanent (DeliveryException: HTTP 403 forbidden).", stderr);
        Assert.StartsWith($"retried {permanent}: autosave-report-poison → autosave-report as message ", stdout);
        var back = Assert.Single(await queues.GetQueue(StorePaths.ReportQueue).ReceiveAsync(32, TimeSpan.FromSeconds(30)));
        Assert.Equal("{\"decision\":\"permanent\"}", back.Text);

        (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "dlq", "retry", transient);
        Assert.Equal(0, exit);
        Assert.Equal("", stderr);
        Assert.StartsWith($"retried {transient}: ", stdout);

        (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "dlq", "retry", transient);
        Assert.Equal(2, exit);
        Assert.Equal($"error: no dead letter with id {transient} in autosave-analyze-poison, autosave-report-poison", stderr.TrimEnd('\n'));
        Assert.Equal("", stdout);

        (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "dlq", "purge", "--older-than", "30");
        Assert.True(exit == 0, stderr);
        Assert.StartsWith("removed 0, kept 1 (removed: inserted before ", stdout);

        (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "dlq", "purge", "--older-than", "0");
        Assert.True(exit == 0, stderr);
        Assert.StartsWith("removed 1, kept 0 ", stdout);

        (exit, stdout, _) = await HostProcess.RunAsync(_cwd, "dlq", "list");
        Assert.Equal(0, exit);
        Assert.Equal("no dead letters in autosave-analyze-poison, autosave-report-poison", stdout.TrimEnd('\n'));
    }

    [Theory]
    [InlineData("dlq", "list", "--queue", "autosave-nope")]
    [InlineData("dlq", "list", "--store", "missing")]
    [InlineData("dlq", "purge", "--older-than", "-1")]
    [InlineData("dlq", "purge")]
    [InlineData("dlq", "list", "--storage", "azure")]
    public async Task Bad_input_exits_with_2_and_one_line(params string[] args)
    {
        Directory.CreateDirectory(Path.Combine(_cwd, PipelineFactory.DefaultStorageRoot));
        var (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, args);
        Assert.Equal(2, exit);
        Assert.StartsWith("error: ", stderr);
        Assert.Single(stderr.TrimEnd('\n').Split('\n'));
        Assert.Equal("", stdout);
    }
}

/// <summary>The <c>dlq</c> commands on Azurite, against the pipeline's real queue names (reset before and after).</summary>
[Collection(AzuriteCollection.Name)]
public sealed class DlqAzuriteCliProcessTests(AzuriteFixture azurite) : IDisposable
{
    private readonly string _cwd = Directory.CreateTempSubdirectory("autosave-dlq-azure-").FullName;

    public void Dispose()
    {
        try { Directory.Delete(_cwd, true); } catch (IOException) { }
    }

    [Fact]
    public async Task List_and_retry_on_Azurite()
    {
        using var http = azurite.CreateHttpClient();
        var ports = PipelineFactory.CreateStoragePorts(PipelineFactory.LoadConfiguration(_cwd), StorageSelection.Azure(azurite.ConnectionString), TimeProvider.System);
        await ReplayStore.ResetAsync(ports);
        try
        {
            await DlqCliProcessTests.PoisonAsync(ports.Queues, ports.Blobs, StorePaths.ReportQueue, "{\"decision\":\"d\"}",
                new DeliveryException("flag-service", 403, false, "HTTP 403 forbidden"));
            var runtime = ports.Queues.GetQueue(QueueProcessor.PoisonQueueName(StorePaths.AnalyzeQueue));
            await runtime.CreateIfNotExistsAsync();
            var runtimeId = await runtime.SendAsync("{\"manifest\":\"m\"}"); // as the Functions runtime poisons: no log line

            var (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "dlq", "list", "--storage", "azure", "--connection", azurite.ConnectionString);
            Assert.True(exit == 0, stderr);
            Assert.Contains("2 dead letter(s): autosave-analyze 1, autosave-report 1", stdout);
            Assert.Matches(@"autosave-analyze\s+\S+ \S+\s+\?\s+unknown\s+unknown \(poisoned by the Functions runtime\)", stdout.Split('\n').Single(l => l.Contains(runtimeId)));
            Assert.Matches(@"autosave-report\s.*\syes\s+DeliveryException: HTTP 403 forbidden", stdout);

            (exit, stdout, stderr) = await HostProcess.RunAsync(_cwd, "dlq", "retry", runtimeId, "--storage", "azure", "--connection", azurite.ConnectionString);
            Assert.True(exit == 0, stderr);
            Assert.Equal("", stderr); // unknown is not permanent: no warning
            Assert.StartsWith($"retried {runtimeId}: autosave-analyze-poison → autosave-analyze as message ", stdout);
            var back = Assert.Single(await ports.Queues.GetQueue(StorePaths.AnalyzeQueue).ReceiveAsync(32, TimeSpan.FromSeconds(30)));
            Assert.Equal("{\"manifest\":\"m\"}", back.Text);
            Assert.DoesNotContain(AzuriteFixture.DevelopmentAccountKey, stdout + stderr);
        }
        finally
        {
            await ReplayStore.ResetAsync(ports);
        }
    }
}
