using Azure.Core;
using Azure.Identity;
using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Azure;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Configuration;

namespace AutoSaveRollout.Tests.Azure;

/// <summary>
/// The identity-based connection end to end on Azurite over https with <c>--oauth basic</c>: settings in the Functions
/// convention (<c>Storage__blobServiceUri</c>, <c>__queueServiceUri</c>, <c>__credential</c>), a bearer token, and start-up
/// failures that name the setting on one line.
/// </summary>
[Collection(AzuriteOAuthCollection.Name)]
public sealed class AzureIdentityAzuriteTests(AzuriteOAuthFixture azurite)
{
    [Fact]
    public async Task Identity_settings_reach_storage_with_a_bearer_token_and_the_description_names_no_secret()
    {
        var credential = new EmulatorTokenCredential();
        var options = azurite.Options();
        options.Credential = credential;

        var ports = azurite.CreatePorts(options);
        await ports.VerifyAccessAsync();
        var path = $"{AzuriteFixture.UniqueName("id")}/hello.json";
        var etag = await ports.Blobs.PutAsync(path, "{}"u8.ToArray(), WriteCondition.IfNotExists);

        Assert.True(ports.UsesIdentity);
        Assert.True(credential.Issued > 0);
        Assert.Equal(etag, (await ports.Blobs.TryGetAsync(path))!.ETag);
        Assert.StartsWith($"azure storage {azurite.BlobEndpoint.AbsoluteUri.TrimEnd('/')} and {azurite.QueueEndpoint.AbsoluteUri.TrimEnd('/')} via Storage: identity",
            ports.Description);
    }

    [Fact]
    public async Task A_token_for_another_audience_fails_start_up_with_one_line_naming_the_credential_setting()
    {
        var options = azurite.Options();
        options.Credential = new EmulatorTokenCredential(audience: "https://vault.azure.net");

        var ex = await Assert.ThrowsAsync<AzureStorageConfigurationException>(() => azurite.CreatePorts(options).VerifyAccessAsync());

        Assert.Contains("Storage__credential", ex.Message);
        Assert.Contains("storage refused the credential (HTTP 40", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task An_unavailable_identity_fails_start_up_with_one_line_naming_the_credential_setting()
    {
        var options = azurite.Options();
        options.Credential = new UnavailableCredential();

        var ex = await Assert.ThrowsAsync<AzureStorageConfigurationException>(() => azurite.CreatePorts(options).VerifyAccessAsync());

        Assert.Contains("Storage__credential", ex.Message);
        Assert.Contains("no token", ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public async Task The_CLI_composition_replays_on_the_identity_connection_with_the_same_decisions_as_embedded()
    {
        var policy = PolicyLoader.LoadFile(RepoFiles.PathOf("policy.yaml"));
        var templates = TemplateRenderer.Load();
        var telemetry = RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_violation.jsonl");
        var root = Directory.CreateTempSubdirectory("autosave-identity-").FullName;
        try
        {
            var reference = await ReplayAsync(PipelineFactory.CreatePorts(new ConfigurationBuilder().Build(), StorageSelection.Embedded(root),
                TimeProvider.System, dryRun: true, policy), policy, templates, telemetry);

            var ports = PipelineFactory.CreatePorts(azurite.Configuration(),
                StorageSelection.AzureConnection(AzuriteFixture.ConnectionName) with { AzureOptions = azurite.Options() },
                TimeProvider.System, dryRun: true, policy);
            await ReplayStore.ResetAsync(ports);
            var actual = await ReplayAsync(ports, policy, templates, telemetry);

            Assert.Contains("identity", ports.StorageDescription);
            Assert.Equal(reference, actual);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData("Storage:queueServiceUri", "https://q.example", "Storage__blobServiceUri")]
    [InlineData("Storage:blobServiceUri", "https://b.example", "Storage__queueServiceUri")]
    public void A_missing_service_uri_is_named(string key, string value, string named)
    {
        var ex = Assert.Throws<AzureStorageConfigurationException>(() => AzureStorageRegistration.Create(Config((key, value)), "Storage"));
        Assert.Contains(named, ex.Message);
        Assert.DoesNotContain('\n', ex.Message);
    }

    [Fact]
    public void An_unknown_credential_kind_and_a_malformed_client_id_are_named()
    {
        var uris = new[] { ("Storage:blobServiceUri", "https://b.example"), ("Storage:queueServiceUri", "https://q.example") };
        var kind = Assert.Throws<AzureStorageConfigurationException>(() =>
            AzureStorageRegistration.Create(Config([.. uris, ("Storage:credential", "password")]), "Storage"));
        var clientId = Assert.Throws<AzureStorageConfigurationException>(() =>
            AzureStorageRegistration.Create(Config([.. uris, ("Storage:credential", "managedidentity"), ("Storage:clientId", "not-a-guid")]), "Storage"));

        Assert.Contains("Storage__credential", kind.Message);
        Assert.Contains("Storage__clientId", clientId.Message);
    }

    [Fact]
    public void No_connection_at_all_is_named_and_a_malformed_connection_string_is_named_without_its_value()
    {
        var none = Assert.Throws<AzureStorageConfigurationException>(() => AzureStorageRegistration.Create(Config(), "Storage"));
        var bad = Assert.Throws<AzureStorageConfigurationException>(() =>
            AzureStorageRegistration.Create(Config(("Storage", "AccountName=x;AccountKey=c2VjcmV0LWtleQ==;BlobEndpoint=not a url")), "Storage"));

        Assert.Contains("Storage__blobServiceUri", none.Message);
        Assert.Contains("Storage is not a usable Azure Storage connection string", bad.Message);
        Assert.DoesNotContain("c2VjcmV0LWtleQ==", bad.ToString());
    }

    private static IConfiguration Config(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    private static async Task<string[]> ReplayAsync(PipelinePorts ports, RolloutPolicy policy, TemplateRenderer templates, string telemetry) =>
        (await new ReplayRunner(ports, policy, templates).RunAsync(new FileTelemetrySource(telemetry),
            new ReplayOptions(Phase.A, DryRun: true, TimeSpan.Zero, new QueueProcessingOptions())))
        .Select(ReplayRunner.ToJsonLine).ToArray();

    private sealed class UnavailableCredential : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            throw new CredentialUnavailableException("ManagedIdentityCredential authentication unavailable.\nNo managed identity endpoint found.");

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
