using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using AutoSaveRollout.Adapters.PagerDuty;
using AutoSaveRollout.Adapters.Slack;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Policy;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Tests.Hosting;

/// <summary>
/// Deployment files checked as files: the Functions project is in the solution on central package versions (its worker
/// runs in <c>Functions/FunctionsWorkerTests</c>), the settings example configures a startable app, and the
/// infrastructure sets every setting the app reads, reaches storage with the app's identity only and keeps only
/// third-party secrets in Key Vault. (The Bicep itself is compiled and linted by <c>.ci/run</c> with the Bicep CLI from NuGet.)
/// </summary>
public sealed class DeploymentFilesTests
{
    private const string FunctionsDir = "functions/AutoSaveRollout.Functions";
    private static readonly string[] OptionalInAzure = ["AzureWebJobsStorage", "Telemetry:Path", "Reporter:TemplatesPath", "Slack:Webhooks"];
    private static readonly string[] SecretSettings =
    [
        "Slack__Webhooks__autosave_rollout", "Slack__Webhooks__incident_autosave", "Slack__Webhooks__incident",
        "PagerDuty__RoutingKey", "PagerDuty__ApiToken", "FlagService__Token", "Telemetry__Token",
    ];

    private static string Env(string key) => key.Replace(":", "__");

    /// <summary>App setting names for the policy's Slack channels (ok, warn, incident, escalation).</summary>
    private static IEnumerable<string> SlackSettings()
    {
        var c = PolicyLoader.LoadFile(RepoFiles.PathOf("policy.yaml")).Channels;
        return new[] { c.Ok, c.Warn, c.Incident, c.Escalation }.Select(SlackOptions.NormaliseChannelKey).Distinct()
            .Select(k => "Slack__Webhooks__" + k);
    }

    [Fact]
    public void The_Functions_project_is_in_the_solution_and_built_by_the_tests_without_referencing_its_assembly()
    {
        Assert.True(File.Exists(RepoFiles.PathOf(FunctionsDir + "/AutoSaveRollout.Functions.csproj")));
        Assert.Contains(@"functions\AutoSaveRollout.Functions\AutoSaveRollout.Functions.csproj", File.ReadAllText(RepoFiles.PathOf("AutoSaveRollout.sln")));
        var tests = XDocument.Load(RepoFiles.PathOf("tests/AutoSaveRollout.Tests/AutoSaveRollout.Tests.csproj"));
        var reference = tests.Descendants("ProjectReference").Single(e => ((string)e.Attribute("Include")!).EndsWith("AutoSaveRollout.Functions.csproj"));
        Assert.Equal("false", (string?)reference.Attribute("ReferenceOutputAssembly"));
    }

    [Fact]
    public void The_Functions_project_takes_its_package_versions_from_central_management_and_ships_the_root_host_json_and_policy()
    {
        var project = XDocument.Load(RepoFiles.PathOf(FunctionsDir + "/AutoSaveRollout.Functions.csproj"));
        var packages = project.Descendants("PackageReference").ToDictionary(e => (string)e.Attribute("Include")!, e => (string?)e.Attribute("Version"));
        Assert.All(packages.Values, Assert.Null);
        var central = XDocument.Load(RepoFiles.PathOf("Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(e => (string)e.Attribute("Include")!, e => (string)e.Attribute("Version")!);
        Assert.Equal(new Dictionary<string, string>
        {
            ["Microsoft.Azure.Functions.Worker"] = "2.52.0",
            ["Microsoft.Azure.Functions.Worker.Sdk"] = "2.1.0",
            ["Microsoft.Azure.Functions.Worker.Extensions.Timer"] = "4.3.1",
            ["Microsoft.Azure.Functions.Worker.Extensions.Storage.Queues"] = "5.5.5",
            ["Microsoft.Azure.Functions.Worker.OpenTelemetry"] = "1.2.0",
            ["Azure.Monitor.OpenTelemetry.Exporter"] = "1.10.0",
        }, packages.Keys.ToDictionary(k => k, k => central[k]));
        Assert.Empty(project.Descendants("ManagePackageVersionsCentrally"));
        Assert.Equal("v4", project.Descendants("AzureFunctionsVersion").Single().Value);

        foreach (var file in new[] { "host.json", "policy.yaml" })
        {
            var item = project.Descendants("None").Single(e => (string?)e.Attribute("Include") == "../../" + file);
            Assert.Equal(file, (string?)item.Attribute("Link"));
            Assert.Equal("PreserveNewest", (string?)item.Attribute("CopyToOutputDirectory"));
            Assert.Equal("PreserveNewest", (string?)item.Attribute("CopyToPublishDirectory"));
            Assert.True(File.Exists(RepoFiles.PathOf(file)));
        }
        foreach (var reference in project.Descendants("ProjectReference").Select(e => (string)e.Attribute("Include")!))
            Assert.True(File.Exists(Path.Combine(RepoFiles.PathOf(FunctionsDir), reference)), reference);
    }

    /// <summary>The worker exports through OpenTelemetry when the Application Insights connection string is set; the test clock is never set in Azure.</summary>
    [Fact]
    public void The_Bicep_sets_the_Application_Insights_connection_string_and_never_the_test_clock()
    {
        var source = File.ReadAllText(RepoFiles.PathOf(FunctionsDir + "/WorkerServices.cs"));
        Assert.Contains("\"APPLICATIONINSIGHTS_CONNECTION_STRING\"", source);
        Assert.Contains("\"AutoSave:ClockFile\"", source);
        Assert.Contains("APPLICATIONINSIGHTS_CONNECTION_STRING", BicepAppSettings().Keys);
        const string clock = "AutoSave__ClockFile";
        Assert.DoesNotContain(clock, Bicep());
        Assert.DoesNotContain(clock, File.ReadAllText(RepoFiles.PathOf(FunctionsDir + "/local.settings.json.example")));
    }

    [Theory]
    [InlineData("CollectorFunction.cs", FunctionsAppSettings.CollectorSchedule)]
    [InlineData("LifecycleFunction.cs", FunctionsAppSettings.LifecycleSchedule)]
    public void Each_timer_schedule_placeholder_names_its_app_setting(string file, string setting)
    {
        var source = File.ReadAllText(RepoFiles.PathOf(FunctionsDir + "/" + file));
        Assert.Contains($"[TimerTrigger(\"%{setting}%\")]", source);
    }

    private static Dictionary<string, string> ExampleValues()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(RepoFiles.PathOf(FunctionsDir + "/local.settings.json.example")));
        Assert.False(doc.RootElement.GetProperty("IsEncrypted").GetBoolean());
        return doc.RootElement.GetProperty("Values").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!);
    }

    [Fact]
    public void The_settings_example_lists_every_setting_the_app_reads_and_nothing_else()
    {
        var values = ExampleValues();
        var expected = FunctionsAppSettings.All.Where(k => k != "Slack:Webhooks").Select(Env)
            .Concat(SlackSettings()).Append("FUNCTIONS_WORKER_RUNTIME").Order(StringComparer.Ordinal);

        Assert.Equal(expected, values.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("dotnet-isolated", values["FUNCTIONS_WORKER_RUNTIME"]);
        Assert.Equal("UseDevelopmentStorage=true", values["AzureWebJobsStorage"]);
        Assert.Equal(FiveMinutes, values["CollectorSchedule"]);
        Assert.Equal(FiveMinutes, values["LifecycleSchedule"]);
        Assert.Equal(PagerDutyOptions.DefaultApiUrl.OriginalString, values["PagerDuty__ApiUrl"]);
        Assert.Equal(PagerDutyOptions.DefaultEscalationPriority, values["PagerDuty__EscalationPriority"]);
    }

    /// <summary>The Functions timer fires every 5 minutes; <c>CollectorCadence.IsDue</c> picks the firings that collect.</summary>
    private const string FiveMinutes = "0 */5 * * * *";

    [Fact]
    public void The_Functions_timer_fires_every_5_minutes_in_the_example_the_Bicep_and_both_parameter_files()
    {
        Assert.Equal(FiveMinutes, ExampleValues()["CollectorSchedule"]);
        Assert.Matches($@"(?m)^param collectorSchedule string = '{Regex.Escape(FiveMinutes)}'$", Bicep());
        Assert.Equal("collectorSchedule", BicepAppSettings()["CollectorSchedule"]);
        foreach (var environment in new[] { "dev", "prod" })
            Assert.Matches($@"(?m)^param collectorSchedule = '{Regex.Escape(FiveMinutes)}'$",
                File.ReadAllText(RepoFiles.PathOf($"infra/parameters/{environment}.bicepparam")));
        Assert.Contains("CollectorCadence.IsDue", File.ReadAllText(RepoFiles.PathOf(FunctionsDir + "/CollectorFunction.cs")));
    }

    [Fact]
    public void The_Lifecycle_timer_fires_every_5_minutes_in_the_example_the_Bicep_and_both_parameter_files()
    {
        Assert.Equal(FiveMinutes, ExampleValues()["LifecycleSchedule"]);
        Assert.Matches($@"(?m)^param lifecycleSchedule string = '{Regex.Escape(FiveMinutes)}'$", Bicep());
        Assert.Equal("lifecycleSchedule", BicepAppSettings()["LifecycleSchedule"]);
        foreach (var environment in new[] { "dev", "prod" })
            Assert.Matches($@"(?m)^param lifecycleSchedule = '{Regex.Escape(FiveMinutes)}'$",
                File.ReadAllText(RepoFiles.PathOf($"infra/parameters/{environment}.bicepparam")));
    }

    [Fact]
    public void The_Bicep_passes_the_PagerDuty_REST_settings_as_parameters_with_the_adapter_defaults()
    {
        var bicep = Bicep();
        var settings = BicepAppSettings();

        Assert.Matches($@"(?m)^param pagerDutyApiUrl string = '{Regex.Escape(PagerDutyOptions.DefaultApiUrl.OriginalString)}'$", bicep);
        Assert.Matches($@"(?m)^param pagerDutyEscalationPriority string = '{PagerDutyOptions.DefaultEscalationPriority}'$", bicep);
        Assert.Matches(@"(?m)^param pagerDutyFrom string$", bicep); // no default: each environment names its PagerDuty user
        Assert.Equal("pagerDutyApiUrl", settings["PagerDuty__ApiUrl"]);
        Assert.Equal("pagerDutyFrom", settings["PagerDuty__From"]);
        Assert.Equal("pagerDutyEscalationPriority", settings["PagerDuty__EscalationPriority"]);
        Assert.Equal("'${kvRefPrefix}${secretNames.pagerDutyApiToken}/)'", settings["PagerDuty__ApiToken"]);
        foreach (var environment in new[] { "dev", "prod" })
            Assert.Matches(@"(?m)^param pagerDutyFrom = '[^'@\s]+@[^'@\s]+\.[a-z]+'$",
                File.ReadAllText(RepoFiles.PathOf($"infra/parameters/{environment}.bicepparam")));
    }

    [Fact]
    public void The_settings_example_configures_an_app_that_starts()
    {
        var appDir = Directory.CreateTempSubdirectory("autosave-funcapp-").FullName;
        try
        {
            File.Copy(RepoFiles.PathOf("policy.yaml"), Path.Combine(appDir, "policy.yaml"));
            File.Copy(RepoFiles.PathOf("host.json"), Path.Combine(appDir, "host.json"));
            // As the Functions host passes them: environment variables, "__" meaning ":".
            var config = new ConfigurationBuilder().AddInMemoryCollection(
                ExampleValues().Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":"), kv.Value))).Build();

            using var provider = new ServiceCollection().AddLogging().AddRolloutPipeline(config, appDir).BuildServiceProvider();

            var settings = provider.GetRequiredService<FunctionsPipelineSettings>();
            Assert.True(settings.DryRun);
            Assert.Equal("AzureWebJobsStorage", settings.StorageSetting); // the runtime's connection is the pipeline's
            Assert.Equal("base64", settings.HostJson.MessageEncoding);
            Assert.NotNull(provider.GetRequiredService<AutoSaveRollout.Core.Pipeline.Reporter>());
        }
        finally
        {
            Directory.Delete(appDir, recursive: true);
        }
    }

    [Fact]
    public void The_settings_example_outside_dry_run_configures_PagerDuty_escalation()
    {
        var appDir = Directory.CreateTempSubdirectory("autosave-funcapp-").FullName;
        try
        {
            File.Copy(RepoFiles.PathOf("policy.yaml"), Path.Combine(appDir, "policy.yaml"));
            File.Copy(RepoFiles.PathOf("host.json"), Path.Combine(appDir, "host.json"));
            var values = ExampleValues();
            values["Reporter__DryRun"] = "false";
            var config = new ConfigurationBuilder().AddInMemoryCollection(
                values.Select(kv => new KeyValuePair<string, string?>(kv.Key.Replace("__", ":"), kv.Value))).Build();

            using var provider = new ServiceCollection().AddLogging().AddRolloutPipeline(config, appDir).BuildServiceProvider();

            var ports = provider.GetRequiredService<PipelinePorts>();
            Assert.NotNull(ports.PagerDutyIncidents); // PagerDuty__ApiToken set: the REST client (From, escalation webhook present)
            Assert.Equal(PagerDutyOptions.DefaultEscalationPriority, ports.EscalationPriority);
            Assert.NotNull(provider.GetRequiredService<AutoSaveRollout.Core.Lifecycle.LifecycleService>());
        }
        finally
        {
            Directory.Delete(appDir, recursive: true);
        }
    }

    private static string Bicep() => File.ReadAllText(RepoFiles.PathOf("infra/main.bicep"));

    /// <summary>Key → value text of the <c>appsettings</c> resource's properties.</summary>
    private static Dictionary<string, string> BicepAppSettings()
    {
        var bicep = Bicep();
        var start = bicep.IndexOf("resource appSettings 'Microsoft.Web/sites/config@", StringComparison.Ordinal);
        Assert.True(start >= 0, "appsettings resource not found");
        var block = bicep[start..bicep.IndexOf("dependsOn:", start, StringComparison.Ordinal)];
        return Regex.Matches(block, @"(?m)^\s*(?:\}, \w+ \? \{ )?([A-Za-z_][A-Za-z0-9_]*): (.+?)\s*(?:\} : \{\}\))?$")
            .Where(m => m.Groups[1].Value is not ("properties" or "parent" or "name"))
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
    }

    [Fact]
    public void The_Bicep_app_settings_cover_what_the_app_reads_with_secrets_as_Key_Vault_references()
    {
        var settings = BicepAppSettings();
        var required = FunctionsAppSettings.All.Except(OptionalInAzure).Select(Env).Concat(SlackSettings())
            .Concat(IdentityStorageSettings).Append("APPLICATIONINSIGHTS_CONNECTION_STRING");

        foreach (var name in required)
            Assert.True(settings.ContainsKey(name), $"main.bicep app settings lack {name}");
        foreach (var name in SecretSettings)
            Assert.Contains("${kvRefPrefix}", settings[name]);
        Assert.Contains("@Microsoft.KeyVault(SecretUri=", Bicep());
        // Flex Consumption takes the runtime from functionAppConfig and rejects these as app settings.
        Assert.DoesNotContain("FUNCTIONS_WORKER_RUNTIME", settings.Keys);
        Assert.DoesNotContain("WEBSITE_RUN_FROM_PACKAGE", settings.Keys);
        // Every key the Bicep sets is one the app or the runtime reads.
        var known = required.Append("Telemetry__Token").ToHashSet();
        Assert.All(settings.Keys, k => Assert.Contains(k, known));
    }

    private static readonly string[] IdentityStorageSettings =
    [
        "AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__queueServiceUri", "AzureWebJobsStorage__tableServiceUri",
        "AzureWebJobsStorage__credential",
    ];

    [Fact]
    public void Storage_is_reached_with_the_app_identity_only_with_shared_key_disabled()
    {
        var bicep = Bicep();
        var settings = BicepAppSettings();

        Assert.Equal("'managedidentity'", settings["AzureWebJobsStorage__credential"]);
        Assert.Equal("storage.properties.primaryEndpoints.blob", settings["AzureWebJobsStorage__blobServiceUri"]);
        Assert.Equal("storage.properties.primaryEndpoints.queue", settings["AzureWebJobsStorage__queueServiceUri"]);
        Assert.Equal("storage.properties.primaryEndpoints.table", settings["AzureWebJobsStorage__tableServiceUri"]);
        Assert.DoesNotContain("AzureWebJobsStorage__accountName", settings.Keys);
        Assert.Matches(@"(?m)^\s*allowSharedKeyAccess: false$", bicep);
        Assert.DoesNotContain("listKeys", bicep);
        Assert.DoesNotContain("AccountKey", bicep);
        Assert.Matches(@"authentication: \{ type: 'SystemAssignedIdentity' \}", bicep); // the deployment package container
        // The data-plane roles of the app's identity (built-in role ids), each assigned to functionApp.identity.principalId.
        foreach (var (role, id) in new[]
                 {
                     ("storageBlobDataOwner", "b7e6dc6d-f1e8-4753-8033-0f276bb0955b"),
                     ("storageQueueDataContributor", "974c5e8b-45b9-4653-ba55-5f855dd0fb88"),
                     ("storageTableDataContributor", "0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"),
                     ("monitoringMetricsPublisher", "3913510d-42f4-4e42-8a64-420c390055eb"),
                 })
        {
            Assert.Contains($"{role}: '{id}'", bicep);
            Assert.Matches($@"roleDefinitionId: subscriptionResourceId\('Microsoft.Authorization/roleDefinitions', roles.{role}\)\s+principalId: functionApp.identity.principalId", bicep);
        }
    }

    [Fact]
    public void Ci_compiles_and_lints_the_Bicep_with_the_pinned_NuGet_CLI()
    {
        var ci = File.ReadAllText(RepoFiles.PathOf(".ci/run"));
        Assert.Contains("bicep_check build infra/main.bicep", ci);
        Assert.Contains("bicep_check lint infra/main.bicep", ci);
        Assert.Contains("bicep_check build-params \"$params\"", ci);
        Assert.Contains("for params in infra/parameters/*.bicepparam", ci);
        Assert.Contains("<PackageVersion Include=\"Azure.Bicep.CommandLine.linux-x64\" Version=\"0.49.2\" />",
            File.ReadAllText(RepoFiles.PathOf("Directory.Packages.props")));
        Assert.Contains("GeneratePathProperty=\"true\"", File.ReadAllText(RepoFiles.PathOf("infra/bicep-cli/BicepCli.csproj")));
    }

    [Fact]
    public void Every_Key_Vault_secret_is_documented_with_its_set_command()
    {
        var bicep = Bicep();
        var start = bicep.IndexOf("var secretNames = {", StringComparison.Ordinal);
        var block = bicep[start..bicep.IndexOf('}', start)];
        var names = Regex.Matches(block, @"\w+: '([a-z0-9-]+)'").Select(m => m.Groups[1].Value).ToList();
        var readme = File.ReadAllText(RepoFiles.PathOf("infra/README.md"));

        Assert.Equal(7, names.Count); // third-party secrets only: storage needs none
        Assert.Contains("pagerduty-api-token", names);
        foreach (var name in names)
        {
            Assert.Contains($"`{name}`", readme);
            Assert.Contains($"--name {name} ", readme);
        }
    }

    [Theory]
    [InlineData("dev")]
    [InlineData("prod")]
    public void Parameter_files_set_only_declared_parameters_and_every_required_one(string environment)
    {
        var declared = Regex.Matches(Bicep(), @"(?m)^param (\w+) \w+( = .+)?$")
            .ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Success);
        var file = File.ReadAllText(RepoFiles.PathOf($"infra/parameters/{environment}.bicepparam"));
        var set = Regex.Matches(file, @"(?m)^param (\w+) = ").Select(m => m.Groups[1].Value).ToList();

        Assert.Contains("using '../main.bicep'", file);
        Assert.All(set, p => Assert.True(declared.ContainsKey(p), $"{environment}.bicepparam sets undeclared parameter {p}"));
        Assert.All(declared.Where(d => !d.Value).Select(d => d.Key), p => Assert.Contains(p, set));
        Assert.Equal(set.Count, set.Distinct().Count());
        Assert.Contains($"param environmentName = '{environment}'", file);
    }
}
