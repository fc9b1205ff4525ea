using Azure.Storage.Queues;
using System.Text.Json;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using AutoSaveRollout.Core.Storage;

namespace AutoSaveRollout.Tests.Hosting;

/// <summary>
/// The Azure Functions app's composition (<see cref="FunctionsPipeline"/>), which the Functions project calls from its
/// Program.cs: settings are read and validated, files resolve against the app directory, and the registered stages run the
/// whole pipeline on one Azure storage account (Azurite) the way the three functions invoke them.
/// </summary>
public sealed class FunctionsPipelineSettingsTests : IDisposable
{
    private const string KeyMarker = "S3CR3T-ACCOUNT-KEY";
    private readonly string _appDir = Directory.CreateTempSubdirectory("autosave-funcapp-").FullName;

    public void Dispose() => Directory.Delete(_appDir, recursive: true);

    private static IConfiguration Config(params (string Key, string? Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Fact]
    public void The_pipeline_uses_the_AzureWebJobsStorage_connection_of_the_runtime()
    {
        var (settings, storage) = FunctionsPipeline.ReadSettings(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true")), _appDir);

        Assert.Equal("AzureWebJobsStorage", settings.StorageSetting);
        Assert.Equal(StorageKind.Azure, storage.Kind);
        Assert.Equal("AzureWebJobsStorage", storage.ConnectionName);
        Assert.Null(storage.ConnectionString); // read from the setting itself, connection string or identity
    }

    [Fact]
    public void An_identity_based_AzureWebJobsStorage_is_accepted()
    {
        var (settings, storage) = FunctionsPipeline.ReadSettings(Config(
            ("AzureWebJobsStorage:blobServiceUri", "https://stautosave.blob.core.windows.net"),
            ("AzureWebJobsStorage:queueServiceUri", "https://stautosave.queue.core.windows.net"),
            ("AzureWebJobsStorage:credential", "managedidentity")), _appDir);

        Assert.Equal("AzureWebJobsStorage", settings.StorageSetting);
        Assert.Equal("AzureWebJobsStorage", storage.ConnectionName);
    }

    [Fact]
    public void No_storage_connection_is_rejected_naming_AzureWebJobsStorage()
    {
        var ex = Assert.Throws<ConfigurationException>(() => FunctionsPipeline.ReadSettings(Config(("Reporter:DryRun", "true")), _appDir));

        Assert.Contains("AzureWebJobsStorage__blobServiceUri", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Theory]
    [InlineData("Slack:Webhooks:incident_autosave", "Slack__Webhooks__incident_autosave")]
    [InlineData("PagerDuty:RoutingKey", "PagerDuty__RoutingKey")]
    [InlineData("PagerDuty:ApiToken", "PagerDuty__ApiToken")]
    [InlineData("FlagService:Token", "FlagService__Token")]
    public void An_unresolved_Key_Vault_reference_is_rejected_naming_the_setting(string key, string appSetting)
    {
        const string reference = "@Microsoft.KeyVault(SecretUri=https://kv-autosave-dev.vault.azure.net/secrets/some-secret/)";

        var ex = Assert.Throws<ConfigurationException>(() => FunctionsPipeline.ReadSettings(Config(
            ("AzureWebJobsStorage", "UseDevelopmentStorage=true"), (key, reference)), _appDir));

        Assert.Contains(appSetting + " is an unresolved Key Vault reference", ex.Message);
        Assert.DoesNotContain("some-secret", ex.Message);
    }

    [Fact]
    public void Defaults_resolve_policy_and_host_json_in_the_app_directory()
    {
        var (settings, _) = FunctionsPipeline.ReadSettings(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true")), _appDir);

        Assert.Equal(Path.Combine(_appDir, "policy.yaml"), settings.PolicyPath);
        Assert.Null(settings.TemplatesPath);
        Assert.False(settings.DryRun);
        Assert.Equal(Phase.A, settings.InitialPhase);
        Assert.Equal(HostJsonSettings.Defaults, settings.HostJson); // no host.json in the folder: Functions defaults
    }

    [Fact]
    public void Relative_paths_are_resolved_against_the_app_directory_and_absolute_ones_kept()
    {
        var absolute = Path.Combine(Path.GetTempPath(), "elsewhere", "policy.yaml");
        var (relative, _) = FunctionsPipeline.ReadSettings(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
            ("Policy:Path", "config/prod-policy.yaml"), ("Reporter:TemplatesPath", "templates")), _appDir);
        var (rooted, _) = FunctionsPipeline.ReadSettings(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
            ("Policy:Path", absolute)), _appDir);

        Assert.Equal(Path.Combine(_appDir, "config", "prod-policy.yaml"), relative.PolicyPath);
        Assert.Equal(Path.Combine(_appDir, "templates"), relative.TemplatesPath);
        Assert.Equal(absolute, rooted.PolicyPath);
    }

    [Fact]
    public void The_app_directory_host_json_sets_the_queue_message_encoding()
    {
        File.WriteAllText(Path.Combine(_appDir, "host.json"),
            """{ "version": "2.0", "extensions": { "queues": { "maxDequeueCount": 3, "messageEncoding": "none" } } }""");

        var (settings, _) = FunctionsPipeline.ReadSettings(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true")), _appDir);

        Assert.Equal("none", settings.HostJson.MessageEncoding);
        Assert.Equal(3, settings.HostJson.Queues.MaxDequeueCount);
    }

    [Theory]
    [InlineData("true", true)]
    [InlineData("False", false)]
    [InlineData(" TRUE ", true)]
    public void DryRun_accepts_booleans(string value, bool expected)
    {
        var (settings, _) = FunctionsPipeline.ReadSettings(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true"), ("Reporter:DryRun", value)), _appDir);
        Assert.Equal(expected, settings.DryRun);
    }

    [Fact]
    public void DryRun_rejects_anything_else_naming_the_app_setting()
    {
        var ex = Assert.Throws<ConfigurationException>(() =>
            FunctionsPipeline.ReadSettings(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true"), ("Reporter:DryRun", "yes")), _appDir));
        Assert.Contains("Reporter__DryRun", ex.Message);
    }

    [Theory]
    [InlineData("b", Phase.B)]
    [InlineData("C", Phase.C)]
    public void InitialPhase_accepts_A_B_C(string value, Phase expected)
    {
        var (settings, _) = FunctionsPipeline.ReadSettings(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true"), ("Analyzer:InitialPhase", value)), _appDir);
        Assert.Equal(expected, settings.InitialPhase);
    }

    [Theory]
    [InlineData("off")]
    [InlineData("D")]
    public void InitialPhase_rejects_off_and_unknown_phases(string value)
    {
        var ex = Assert.Throws<ConfigurationException>(() =>
            FunctionsPipeline.ReadSettings(Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true"), ("Analyzer:InitialPhase", value)), _appDir));
        Assert.Contains("Analyzer__InitialPhase", ex.Message);
    }

    [Fact]
    public void A_malformed_storage_connection_string_fails_at_registration_naming_the_setting_without_echoing_the_key()
    {
        File.Copy(RepoFiles.PointPolicy, Path.Combine(_appDir, "policy.yaml"));
        var config = Config(("AzureWebJobsStorage", $"AccountName=x;AccountKey={KeyMarker};BlobEndpoint=not a url"),
            ("Telemetry:Path", RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_clean.jsonl")), ("Reporter:DryRun", "true"));

        var ex = Assert.Throws<ConfigurationException>(() => new ServiceCollection().AddRolloutPipeline(config, _appDir));

        Assert.DoesNotContain(KeyMarker, ex.Message);
        Assert.Contains("AzureWebJobsStorage is not a usable Azure Storage connection string", ex.Message);
    }

    [Fact]
    public void A_missing_policy_file_fails_at_registration()
    {
        var config = Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
            ("Telemetry:Path", RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_clean.jsonl")), ("Reporter:DryRun", "true"));

        var ex = Assert.Throws<ConfigurationException>(() => new ServiceCollection().AddRolloutPipeline(config, _appDir));

        Assert.Contains(Path.Combine(_appDir, "policy.yaml"), ex.Message);
        Assert.Contains("Policy__Path", ex.Message);
    }

    [Fact]
    public void Outside_dry_run_missing_Slack_webhooks_fail_at_start_up()
    {
        File.Copy(RepoFiles.PointPolicy, Path.Combine(_appDir, "policy.yaml"));
        var config = Config(("AzureWebJobsStorage", "UseDevelopmentStorage=true"),
            ("Telemetry:Path", RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_clean.jsonl")));

        // Settings are bound and checked at start-up, as Program.cs does it: build, then ValidateRolloutPipeline.
        var ex = Assert.Throws<ConfigurationException>(() => new ServiceCollection().AddRolloutPipeline(config, _appDir).BuildServiceProvider().ValidateRolloutPipeline());

        Assert.Contains("Slack__Webhooks__", ex.Message);
    }
}

/// <summary>The registered stages, driven as the Collector timer and the two queue triggers drive them, on Azurite.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class FunctionsPipelineAzuriteTests(AzuriteFixture azurite) : IDisposable
{
    private const string RolloutHook = "/services/T000/B001/rollout-s3cr3t";
    private const string IncidentHook = "/services/T000/B002/incident-s3cr3t";
    private readonly string _appDir = Directory.CreateTempSubdirectory("autosave-funcapp-").FullName;

    public void Dispose() => Directory.Delete(_appDir, recursive: true);

    [Fact]
    public async Task Timer_then_analyze_then_report_run_on_one_storage_account_with_the_configured_phase()
    {
        File.Copy(RepoFiles.PointPolicy, Path.Combine(_appDir, "policy.yaml"));
        File.Copy(RepoFiles.PathOf("host.json"), Path.Combine(_appDir, "host.json"));
        await using var slack = await RecordingServer.StartAsync();
        slack.UseSlackDefaults(RolloutHook);
        slack.UseSlackDefaults(IncidentHook);
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = azurite.ConnectionString, // the runtime's connection is the pipeline's
            ["Telemetry:Path"] = RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_clean.jsonl"),
            ["Analyzer:InitialPhase"] = "B",
            ["Slack:Webhooks:autosave_rollout"] = slack.Url(RolloutHook).ToString(),
            ["Slack:Webhooks:incident_autosave"] = slack.Url(IncidentHook).ToString(),
            ["PagerDuty:RoutingKey"] = "R0UT1NGKEY0123456789abcdef012345",
            ["PagerDuty:EventsUrl"] = slack.Url("/v2/enqueue").ToString(),
            ["FlagService:BaseUrl"] = slack.BaseUri.ToString(),
            ["FlagService:Token"] = "flag-token-s3cr3t",
        }).Build();
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 20, 8, 16, 0, TimeSpan.Zero));

        var services = new ServiceCollection().AddLogging().AddRolloutPipeline(config, _appDir, clock);
        await using var provider = services.BuildServiceProvider();
        var ports = provider.GetRequiredService<PipelinePorts>();
        await ReplayStore.ResetAsync(ports);

        // Collector function body: collector.CollectDueAsync(ct).
        var manifests = await provider.GetRequiredService<Collector>().CollectDueAsync();
        var manifest = Assert.Single(manifests);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 8, 0, 0, TimeSpan.Zero), manifest.WindowStart);

        // The runtime's queue trigger hands the Analyzer the decoded message text (host.json messageEncoding base64).
        var analyzeText = await TakeOneAsync(StorePaths.AnalyzeQueue);
        var decision = await provider.GetRequiredService<Analyzer>().HandleAsync(analyzeText);
        Assert.NotNull(decision);
        Assert.Equal("B", decision.Phase);
        Assert.Equal("ok", decision.Status);

        var reportText = await TakeOneAsync(StorePaths.ReportQueue);
        var outbox = await provider.GetRequiredService<Reporter>().HandleAsync(reportText);
        Assert.False(outbox.DryRun);
        var post = Assert.Single(slack.RequestsTo(RolloutHook));
        Assert.Contains("autosave", post.Body, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(slack.RequestsTo(IncidentHook));

        // Every record landed in the one account the queues live in.
        Assert.NotNull(await ports.Blobs.TryGetAsync(StorePaths.Decision(Core.Windows.TimeWindow.StartingAt(manifest.WindowStart))));
        var dashboard = await ports.Blobs.TryGetAsync(StorePaths.Dashboard);
        Assert.NotNull(dashboard);
        Assert.Equal("B", JsonDocument.Parse(dashboard!.Content).RootElement.GetProperty("phase").GetString());
    }

    private async Task<string> TakeOneAsync(string queueName)
    {
        var queue = azurite.Queues(QueueMessageEncoding.Base64).GetQueue(queueName);
        var message = Assert.Single(await queue.ReceiveAsync(32, TimeSpan.FromSeconds(30)));
        await queue.DeleteAsync(message);
        return message.Text;
    }
}
