using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Lifecycle;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Tests.Policy;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AutoSaveRollout.Tests.Hosting;

/// <summary>
/// The one composition (<see cref="RolloutPipelineRegistration.AddRolloutPipeline"/>): settings sections bound and checked at
/// start-up, one line naming the bad setting and never its value, and the stages built from the host's inputs.
/// </summary>
public sealed class RolloutPipelineRegistrationTests : IDisposable
{
    private const string Secret = "S3CR3T-VALUE";
    private readonly string _dir = Directory.CreateTempSubdirectory("autosave-composition-").FullName;
    private readonly RolloutPolicy _policy = PolicyLoader.LoadFile(RepoFiles.PathOf("policy.yaml"));

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IConfiguration Config(params (string Key, string? Value)[] overrides)
    {
        var values = new Dictionary<string, string?>
        {
            ["Slack:Webhooks:autosave_rollout"] = "https://hooks.slack.com/services/T0/B0/okhook",
            ["Slack:Webhooks:incident_autosave"] = "https://hooks.slack.com/services/T0/B1/inchook",
            ["PagerDuty:RoutingKey"] = "R0UT1NGKEY0123456789abcdef012345",
            ["FlagService:BaseUrl"] = "https://flags.example.com",
            ["FlagService:Token"] = "fl4gT0ken",
        };
        foreach (var (key, value) in overrides) values[key] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(values).Build();
    }

    private RolloutHostOptions Host(bool dryRun = false) =>
        new() { Storage = StorageSelection.Embedded(Path.Combine(_dir, "store")), DryRun = dryRun, Policy = _policy };

    [Theory]
    [InlineData("FlagService:BaseUrl", "not a url " + Secret, "configuration: FlagService:BaseUrl is not an absolute URL")]
    [InlineData("PagerDuty:EventsUrl", "::" + Secret, "configuration: PagerDuty:EventsUrl is not an absolute URL")]
    [InlineData("FlagService:Token", "", "configuration: FlagService:Token is not set (environment FlagService__Token, or use --dry-run)")]
    public void A_bad_setting_stops_start_up_with_one_line_naming_it_and_not_its_value(string key, string value, string expected)
    {
        using var provider = new ServiceCollection().AddRolloutPipeline(Config((key, value)), Host()).BuildServiceProvider();

        var ex = Assert.Throws<ConfigurationException>(() => provider.ValidateRolloutPipeline());

        Assert.Equal(expected, ex.Message);
        Assert.DoesNotContain(Secret, ex.Message);
    }

    [Fact]
    public async Task A_generic_host_runs_the_same_check_when_it_starts()
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddRolloutPipeline(Config(("FlagService:BaseUrl", "relative/" + Secret)), Host());
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Equal("configuration: FlagService:BaseUrl is not an absolute URL", Assert.Single(ex.Failures));
    }

    [Fact]
    public void Dry_run_needs_no_outward_settings_and_builds_every_stage()
    {
        using var provider = new ServiceCollection()
            .AddRolloutPipeline(new ConfigurationBuilder().Build(), Host(dryRun: true) with
            {
                TelemetrySource = new FileTelemetrySource(RepoFiles.PathOf("fixtures/telemetry/autosave_phaseA_clean.jsonl")),
            })
            .BuildServiceProvider();

        var ports = provider.ValidateRolloutPipeline().GetRequiredService<PipelinePorts>();

        Assert.Same(DisabledNotifiers.Instance, ports.Slack);
        Assert.NotNull(provider.GetRequiredService<Collector>());
        Assert.NotNull(provider.GetRequiredService<Analyzer>());
        Assert.NotNull(provider.GetRequiredService<Reporter>());
        Assert.NotNull(provider.GetRequiredService<LifecycleService>());
        Assert.NotNull(provider.GetRequiredService<DeadLetterService>());
    }

    [Fact]
    public void A_host_that_runs_the_collector_needs_a_telemetry_source()
    {
        using var provider = new ServiceCollection().AddRolloutPipeline(new ConfigurationBuilder().Build(), Host(dryRun: true) with { RequiresTelemetry = true })
            .BuildServiceProvider();

        var ex = Assert.Throws<ConfigurationException>(() => provider.ValidateRolloutPipeline());

        Assert.Equal("no telemetry source: pass --telemetry <file|folder> or set Telemetry:Path or Telemetry:Url", ex.Message);
    }

    [Fact]
    public void The_telemetry_section_is_the_one_holding_Telemetry_Url()
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Telemetry:Url"] = "https://telemetry.example.com/events",
        }).Build();
        using var provider = new ServiceCollection().AddRolloutPipeline(config, Host(dryRun: true) with { RequiresTelemetry = true }).BuildServiceProvider();

        var source = provider.ValidateRolloutPipeline().GetRequiredService<ITelemetrySource>();

        Assert.Equal("https://telemetry.example.com/events", config.GetSection(HttpTelemetrySourceOptions.SectionName)["Url"]);
        Assert.IsType<HttpTelemetrySource>(source);
    }
}
