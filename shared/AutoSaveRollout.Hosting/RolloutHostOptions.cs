using AutoSaveRollout.Core.Pipeline;
using AutoSaveRollout.Core.Policy;
using AutoSaveRollout.Core.Ports;
using AutoSaveRollout.Core.Reliability;
using AutoSaveRollout.Core.Reporting;

namespace AutoSaveRollout.Hosting;

/// <summary>
/// What one host invocation decides for itself, as opposed to what configuration says: the storage backend, dry-run, the
/// policy and templates already loaded, the clocks, and the test seams (HTTP client, retry limits, port decorators). The
/// input of <see cref="RolloutPipelineRegistration.AddRolloutPipeline"/>; the Functions app, every CLI command and the test
/// harnesses differ only in this record.
/// </summary>
public sealed record RolloutHostOptions
{
    /// <summary>Storage backend (embedded folder or Azure). Required.</summary>
    public required StorageSelection Storage { get; init; }

    /// <summary>
    /// Render and record everything, send nothing: the outward ports refuse every call and no Slack, PagerDuty or
    /// flag-service setting is needed. Also the Reporter's and the lifecycle's dry-run.
    /// </summary>
    public bool DryRun { get; init; }

    /// <summary>
    /// Only storage is used (operator commands such as <c>dlq</c>, <c>status</c>, <c>waive</c>): the outward ports refuse every
    /// call and no Slack, PagerDuty or flag-service setting is needed, whatever <see cref="DryRun"/> says.
    /// </summary>
    public bool StorageOnly { get; init; }

    /// <summary>
    /// Only the flag service is required (<c>rollback</c>, the emergency command): its settings are checked as usual, while
    /// Slack and PagerDuty are optional: checked and wired when configured (any webhook, <c>PagerDuty:RoutingKey</c>),
    /// else their ports refuse every call like a dry-run's. Ignored unless <see cref="Sends"/>.
    /// </summary>
    public bool FlagServiceOnly { get; init; }

    /// <summary>The rollout policy; required by the stages and, outside dry-run, by the Slack settings check (its channels).</summary>
    public RolloutPolicy? Policy { get; init; }

    /// <summary>Slack templates; default the built-in ones.</summary>
    public TemplateRenderer? Templates { get; init; }

    /// <summary>Phase the Analyzer assumes before any rollout state exists (default A).</summary>
    public Phase InitialPhase { get; init; } = Phase.A;

    /// <summary>Queue message encoding on Azure: <c>base64</c> (default, as the Functions runtime) or <c>none</c> (host.json).</summary>
    public string MessageEncoding { get; init; } = "base64";

    /// <summary>
    /// Clock of the stages. Null: the <see cref="TimeProvider"/> already registered, else the system clock (which is then
    /// registered).
    /// </summary>
    public TimeProvider? Time { get; init; }

    /// <summary>
    /// Clock of the ports (queue insertion and visibility times, lock leases, retry delays, HTTP clients); default
    /// <see cref="Time"/>, else the system clock. Replay keeps its ports on the system clock while its stages run on the
    /// simulated one.
    /// </summary>
    public TimeProvider? PortTime { get; init; }

    /// <summary>HTTP client of the storage and outward adapters; default a new client with a 30 s timeout.</summary>
    public HttpClient? Http { get; init; }

    /// <summary>
    /// Retry policy of the Slack, PagerDuty and flag-service decorators and of the Collector; default the production limits
    /// of <see cref="RetryOptions"/> on the port clock.
    /// </summary>
    public RetryPolicy? Retries { get; init; }

    /// <summary>Applied to the ports once built (e.g. <c>MeteredPipeline.WithMetrics</c>); default none.</summary>
    public Func<PipelinePorts, PipelinePorts>? DecoratePorts { get; init; }

    /// <summary>Telemetry file or folder given on the command line; wins over <c>Telemetry:Path</c> and <c>Telemetry:Url</c>.</summary>
    public string? TelemetryPath { get; init; }

    /// <summary>A telemetry source chosen by the host itself (replay, analyze, tests); wins over every telemetry setting.</summary>
    public ITelemetrySource? TelemetrySource { get; init; }

    /// <summary>
    /// The host runs the Collector on configured telemetry (<c>run</c>, the Functions app): a missing or unreadable
    /// telemetry setting then stops start-up. Other hosts only build the source when asked for it.
    /// </summary>
    public bool RequiresTelemetry { get; init; }

    /// <summary>Collector options; default <see cref="CollectorOptions"/> with <see cref="Retries"/>.</summary>
    public CollectorOptions? Collector { get; init; }

    /// <summary>True when the outward ports are live (not dry-run, not storage-only) and their settings are required.</summary>
    public bool Sends => !DryRun && !StorageOnly;
}
