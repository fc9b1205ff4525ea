using AutoSaveRollout.Adapters.Telemetry;
using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Reliability;
using AutoSaveRollout.Core.Reporting;
using AutoSaveRollout.Hosting;
using AutoSaveRollout.Host.Replay;
using AutoSaveRollout.Tests.Policy;
using AutoSaveRollout.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace AutoSaveRollout.Tests.EndToEnd;

/// <summary>
/// Real pipeline, real local peers: Kestrel listeners on 127.0.0.1 stand in for Slack (one webhook path per channel),
/// PagerDuty Events v2 and the rollback flag service; storage is the embedded folder in a temporary directory.
/// </summary>
internal sealed class PipelineHarness : IAsyncDisposable
{
    public const string RoutingKey = "R0UT1NGKEY0123456789abcdef012345";
    public const string FlagToken = "flag-token-s3cr3t";
    public const string RolloutHook = "/services/T000/B001/rollout-s3cr3t";
    public const string IncidentHook = "/services/T000/B002/incident-s3cr3t";

    private PipelineHarness(RecordingServer slack, RecordingServer pagerDuty, RecordingServer flags, string store)
    {
        Slack = slack;
        PagerDuty = pagerDuty;
        Flags = flags;
        StoreRoot = store;
        Policy = PolicyLoader.LoadFile(RepoFiles.PointPolicy);
        Templates = TemplateRenderer.Load();
    }

    public RecordingServer Slack { get; }
    public RecordingServer PagerDuty { get; }
    public RecordingServer Flags { get; }
    public string StoreRoot { get; }
    public RolloutPolicy Policy { get; }
    public TemplateRenderer Templates { get; }
    public PipelinePorts Ports { get; private set; } = null!;

    private ServiceProvider? _pipeline;

    public IReadOnlyList<string> Secrets => [RoutingKey, FlagToken, "rollout-s3cr3t", "incident-s3cr3t"];

    /// <summary>
    /// Starts the fakes and builds the ports through the composition (<see cref="RolloutPipelineRegistration.AddRolloutPipeline"/>). <paramref name="retries"/> replaces the production retry limits (system clock)
    /// and <paramref name="http"/> the default client (30 s timeout) of the outward clients.
    /// </summary>
    public static async Task<PipelineHarness> StartAsync(bool dryRun = false, StorageSelection? storage = null, RetryPolicy? retries = null,
        HttpClient? http = null)
    {
        var h = new PipelineHarness(await RecordingServer.StartAsync(), await RecordingServer.StartAsync(), await RecordingServer.StartAsync(),
            Directory.CreateTempSubdirectory("autosave-e2e-").FullName);
        h.Slack.UseSlackDefaults(RolloutHook);
        h.Slack.UseSlackDefaults(IncidentHook);
        h.PagerDuty.UsePagerDutyDefaults();
        h.Flags.UseFlagServiceDefaults();
        h._pipeline = new ServiceCollection().AddRolloutPipeline(h.Configuration(), new RolloutHostOptions
        {
            Storage = storage ?? StorageSelection.Embedded(h.StoreRoot), Time = TimeProvider.System, DryRun = dryRun, Policy = h.Policy,
            Templates = h.Templates, Http = http, Retries = retries,
        }).BuildServiceProvider();
        h.Ports = h._pipeline.ValidateRolloutPipeline().GetRequiredService<PipelinePorts>();
        return h;
    }

    public IConfiguration Configuration() => new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
    {
        ["Slack:Webhooks:autosave_rollout"] = Slack.Url(RolloutHook).ToString(),
        ["Slack:Webhooks:incident_autosave"] = Slack.Url(IncidentHook).ToString(),
        ["PagerDuty:RoutingKey"] = RoutingKey,
        ["PagerDuty:EventsUrl"] = PagerDuty.Url("/v2/enqueue").ToString(),
        ["FlagService:BaseUrl"] = Flags.BaseUri.ToString(),
        ["FlagService:Token"] = FlagToken,
    }).Build();

    public Task<IReadOnlyList<ReplayWindow>> ReplayAsync(string fixture, Phase phase, bool dryRun = false, double latencySeconds = 0, int maxDequeueCount = 5) =>
        new ReplayRunner(Ports, Policy, Templates).RunAsync(
            new FileTelemetrySource(RepoFiles.PathOf("fixtures/telemetry/" + fixture)),
            new ReplayOptions(phase, dryRun, TimeSpan.FromSeconds(latencySeconds), new QueueProcessingOptions { MaxDequeueCount = maxDequeueCount }));

    public string ReadStoreText(string path)
    {
        var file = Path.Combine(PipelineFactory.BlobRoot(StoreRoot), path.Replace('/', Path.DirectorySeparatorChar));
        return File.Exists(file) ? File.ReadAllText(file) : "";
    }

    /// <summary>Every file the pipeline wrote, concatenated (for secret scans).</summary>
    public string AllStoredText() =>
        string.Join("\n", Directory.EnumerateFiles(StoreRoot, "*", SearchOption.AllDirectories).Select(File.ReadAllText));

    public async ValueTask DisposeAsync()
    {
        if (_pipeline is not null) await _pipeline.DisposeAsync();
        await Slack.DisposeAsync();
        await PagerDuty.DisposeAsync();
        await Flags.DisposeAsync();
        try { Directory.Delete(StoreRoot, recursive: true); } catch (IOException) { }
    }
}
